"""OTLP/HTTP trace requests in protobuf or JSON, and their responses, in the
encoding the request used (as the OTLP specification asks)."""

from __future__ import annotations

import base64
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from central_logger.otlp.schemas import Decoded, Span

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# gRPC's INVALID_ARGUMENT, the code OTLP uses in a 400's Status.
INVALID_ARGUMENT = 3


class MalformedRequestError(ValueError):
    """The body is not an OTLP trace export request."""


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for pair in pairs:
        assert isinstance(pair, KeyValue)
        result[pair.key] = _value(pair.value)
    return result


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes trace and span ids as hex; protobuf's JSON mapping wants base64."""
    if isinstance(node, dict):
        return {
            key: base64.b64encode(bytes.fromhex(value)).decode()
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str)
            else _hex_ids_to_base64(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def parse(body: bytes, media_type: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        if media_type == PROTOBUF:
            request.ParseFromString(body)
        else:
            json_format.ParseDict(_hex_ids_to_base64(orjson.loads(body)), request)
    except (
        DecodeError,
        json_format.ParseError,
        orjson.JSONDecodeError,
        ValueError,
        TypeError,
    ) as exc:
        raise MalformedRequestError(f"not an OTLP trace export request: {exc}") from exc
    return request


def spans_of(request: ExportTraceServiceRequest) -> Decoded:
    spans: list[Span] = []
    reasons: list[str] = []
    rejected = 0
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                problem = (
                    "trace_id must be 16 bytes"
                    if len(span.trace_id) != 16 or not any(span.trace_id)
                    else "span_id must be 8 bytes"
                    if len(span.span_id) != 8
                    else "parent_span_id must be empty or 8 bytes"
                    if len(span.parent_span_id) not in (0, 8)
                    else "start_time_unix_nano is missing"
                    if span.start_time_unix_nano == 0
                    else "end_time_unix_nano is before the start"
                    if span.end_time_unix_nano < span.start_time_unix_nano
                    else ""
                )
                if problem:
                    rejected += 1
                    reasons.append(f"span {span.name!r}: {problem}")
                    continue
                spans.append(
                    Span(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        name=span.name,
                        start_unix_nano=span.start_time_unix_nano,
                        end_unix_nano=span.end_time_unix_nano,
                        status_code=span.status.code,
                        status_message=span.status.message,
                        attributes=_attributes(span.attributes),
                        resource=resource,
                    )
                )
    return Decoded(spans, rejected, reasons)


def export_response(media_type: str, *, rejected: int, message: str) -> bytes:
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if media_type == PROTOBUF:
        return bytes(response.SerializeToString())
    return str(json_format.MessageToJson(response)).encode()


def error_status(media_type: str, message: str) -> bytes:
    status = status_pb2.Status(code=INVALID_ARGUMENT, message=message)
    if media_type == PROTOBUF:
        return bytes(status.SerializeToString())
    return str(json_format.MessageToJson(status)).encode()

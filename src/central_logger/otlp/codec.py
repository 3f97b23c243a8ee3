"""OTLP/HTTP trace requests in protobuf or JSON, and their responses, in the
encoding the request used (as the OTLP specification asks)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2

from central_logger.otlp.schemas import Decoded, Span

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# gRPC's INVALID_ARGUMENT, the code OTLP uses in a 400's Status.
INVALID_ARGUMENT = 3


class MalformedRequestError(ValueError):
    """The body is not an OTLP trace export request."""


# The span times go to bigint columns, which stop at 2^63 - 1 (year 2262 in
# nanoseconds); protobuf's fixed64 goes on to 2^64 - 1.
MAX_UNIX_NANO = 2**63 - 1
# Arrays and key-value lists inside an attribute value nest at most this deep: the
# stored JSON stays far inside the depth limit of a log's own body, and decoding it
# stays bounded.
MAX_ATTRIBUTE_DEPTH = 16
_SHOWN_CHARACTERS = 40


@dataclass
class Parsed:
    """An export request, less the spans the JSON decoder refused one by one."""

    request: ExportTraceServiceRequest
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)


class _RefusedValueError(ValueError):
    """A value that cannot be stored: every check before the database says why here,
    so that one bad span is refused alone instead of failing the whole insert."""


def _shown(text: str) -> str:
    """A name for a reason message: short, its NULs escaped."""
    return repr(text[:_SHOWN_CHARACTERS] + ("..." if len(text) > _SHOWN_CHARACTERS else ""))


def _text(value: str, where: str) -> str:
    # PostgreSQL's text and jsonb cannot hold U+0000.
    if "\x00" in value:
        raise _RefusedValueError(f"{where} contains NUL (\\u0000)")
    return value


def _value(value: AnyValue, where: str, depth: int) -> Any:
    if depth > MAX_ATTRIBUTE_DEPTH:
        raise _RefusedValueError(f"{where} nests deeper than {MAX_ATTRIBUTE_DEPTH}")
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "string_value":
        return _text(value.string_value, where)
    if kind == "array_value":
        return [_value(v, where, depth + 1) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values, where, depth + 1)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attributes(pairs: Any, where: str, depth: int = 1) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for pair in pairs:
        assert isinstance(pair, KeyValue)
        key = _text(pair.key, f"{where} key {_shown(pair.key)}")
        result[key] = _value(pair.value, f"{where} {_shown(key)}", depth)
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


# What a JSON document can get wrong, span by span: a wrong type, a number out of
# range ("-1" or 2^64 for a fixed64), an id that is not hex, nesting Python's stack
# cannot follow.
_JSON_ERRORS = (json_format.ParseError, ValueError, TypeError, RecursionError)


def _from_json(document: Any, message: Message) -> None:
    json_format.ParseDict(_hex_ids_to_base64(document), message)


def _members(node: Any, *names: str) -> list[Any]:
    """The list under `names` (the JSON name, or the proto field name, which the
    protobuf JSON mapping also accepts), or an empty list when it is not one."""
    if isinstance(node, dict):
        for name in names:
            value = node.get(name)
            if isinstance(value, list):
                return value
    return []


def _drop_unparsable_spans(document: Any) -> tuple[int, list[str]]:
    """Remove, in place, each span (and each resource with its spans) that does not
    parse; the count and reasons of what was removed."""
    rejected = 0
    reasons: list[str] = []
    resource_spans_list = _members(document, "resourceSpans", "resource_spans")
    for resource_spans in list(resource_spans_list):
        scope_spans_list = _members(resource_spans, "scopeSpans", "scope_spans")
        for scope_spans in scope_spans_list:
            spans = _members(scope_spans, "spans")
            kept = []
            for span in spans:
                try:
                    _from_json(span, trace_pb2.Span())
                except _JSON_ERRORS as exc:
                    rejected += 1
                    name = span.get("name") if isinstance(span, dict) else None
                    shown = _shown(name) if isinstance(name, str) else "?"
                    reasons.append(f"span {shown}: {_first_line(exc)}")
                else:
                    kept.append(span)
            spans[:] = kept
        try:
            _from_json(resource_spans, trace_pb2.ResourceSpans())
        except _JSON_ERRORS as exc:
            count = sum(len(_members(s, "spans")) for s in scope_spans_list)
            rejected += count
            reasons.append(f"{count} spans of a resource: {_first_line(exc)}")
            resource_spans_list.remove(resource_spans)
    return rejected, reasons


def _first_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _parse_json(body: bytes) -> Parsed:
    document = orjson.loads(body)
    request = ExportTraceServiceRequest()
    try:
        _from_json(document, request)
        return Parsed(request)
    except _JSON_ERRORS:
        pass
    # Something in it does not parse: find it span by span, so that one bad span
    # costs only itself. What is left must then parse as a whole.
    rejected, reasons = _drop_unparsable_spans(document)
    request = ExportTraceServiceRequest()
    _from_json(document, request)
    return Parsed(request, rejected, reasons)


def parse(body: bytes, media_type: str) -> Parsed:
    try:
        if media_type == PROTOBUF:
            # Binary protobuf cannot be parsed span by span: a span that does not decode
            # (invalid UTF-8, nesting beyond protobuf's own limit) fails the request.
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            return Parsed(request)
        return _parse_json(body)
    except (
        DecodeError,
        json_format.ParseError,
        orjson.JSONDecodeError,
        ValueError,
        TypeError,
        RecursionError,
    ) as exc:
        raise MalformedRequestError(
            f"not an OTLP trace export request: {_first_line(exc)}"
        ) from exc


def _span_problem(span: trace_pb2.Span) -> str:
    """Why the span cannot be stored, or "" when it can (values are checked apart)."""
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return "trace_id must be 16 bytes"
    if len(span.span_id) != 8:
        return "span_id must be 8 bytes"
    if len(span.parent_span_id) not in (0, 8):
        return "parent_span_id must be empty or 8 bytes"
    if span.start_time_unix_nano == 0:
        return "start_time_unix_nano is missing"
    if span.start_time_unix_nano > MAX_UNIX_NANO:
        return "start_time_unix_nano is beyond 2^63 - 1 (year 2262)"
    if span.end_time_unix_nano > MAX_UNIX_NANO:
        return "end_time_unix_nano is beyond 2^63 - 1 (year 2262)"
    if span.end_time_unix_nano < span.start_time_unix_nano:
        return "end_time_unix_nano is before the start"
    return ""


def decode(body: bytes, media_type: str) -> Decoded:
    """The export's storable spans: parse and check in one call, so that a worker process
    can run it (`http.offload`) and hand back only the spans."""
    return spans_of(parse(body, media_type))


def spans_of(parsed: Parsed) -> Decoded:
    """The spans that can be stored; every other one is counted and named. Checked
    here, before the database, so a span is refused alone and never fails its export."""
    spans: list[Span] = []
    reasons = list(parsed.reasons)
    rejected = parsed.rejected
    for resource_spans in parsed.request.resource_spans:
        try:
            resource = _attributes(resource_spans.resource.attributes, "resource attribute")
            resource_problem = ""
        except _RefusedValueError as exc:
            resource, resource_problem = {}, str(exc)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                problem = resource_problem or _span_problem(span)
                if not problem:
                    try:
                        spans.append(
                            Span(
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_span_id=span.parent_span_id.hex() or None,
                                name=_text(span.name, "name"),
                                start_unix_nano=span.start_time_unix_nano,
                                end_unix_nano=span.end_time_unix_nano,
                                status_code=span.status.code,
                                status_message=_text(span.status.message, "status message"),
                                attributes=_attributes(span.attributes, "attribute"),
                                resource=resource,
                            )
                        )
                        continue
                    except _RefusedValueError as exc:
                        problem = str(exc)
                rejected += 1
                reasons.append(f"span {_shown(span.name)}: {problem}")
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

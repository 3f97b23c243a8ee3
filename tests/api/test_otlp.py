"""OpenTelemetry in: the real OpenTelemetry SDK and its OTLP/HTTP exporter, pointed at
the running service, produce one workflow log per trace."""

from __future__ import annotations

import base64
import gzip
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanProcessor
from opentelemetry.trace import Status, StatusCode

from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.live import LiveServer
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth


@pytest.fixture
def live(settings: Settings) -> Iterator[str]:
    with LiveServer(create_app(settings, migrate=False)) as server:
        yield server.url


def provider(url: str, processor: type[SpanProcessor], **exporter: Any) -> TracerProvider:
    tracer_provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": "ticket-triage",
                "service.version": "2.1.0",
                "deployment.environment.name": "staging",
            }
        )
    )
    span_exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", **exporter)
    tracer_provider.add_span_processor(processor(span_exporter))  # type: ignore[call-arg]
    return tracer_provider


def run_workflow(tracer_provider: TracerProvider, *, fail: bool = False) -> str:
    tracer = tracer_provider.get_tracer("workflow")
    with tracer.start_as_current_span(
        "triage-ticket",
        attributes={
            "workflow.ticket_id": "TICKET-42",
            "workflow.category": "billing_issue",
            "workflow.resolution_status": "resolved",
            "workflow.metric.confidence": 0.93,
        },
    ) as root:
        with tracer.start_as_current_span("fetch_ticket", attributes={"workflow.step.input": "42"}):
            time.sleep(0.01)
        with tracer.start_as_current_span("classify") as classify:
            with tracer.start_as_current_span("call_model", attributes={"model": "triage-large"}):
                time.sleep(0.02)
            classify.set_attribute("workflow.step.output", "billing_issue")
        with tracer.start_as_current_span("post_reply") as reply:
            if fail:
                reply.set_status(Status(StatusCode.ERROR, "mail server refused"))
                root.set_status(Status(StatusCode.ERROR, "reply failed"))
        trace_id = root.get_span_context().trace_id
    return str(uuid.UUID(int=trace_id))


def stored(url: str, log_id: str, key: str = TENANT_A_KEY) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/logs/{log_id}", headers=auth(key), timeout=10)


@pytest.mark.parametrize(
    ("processor", "exporter"),
    [(SimpleSpanProcessor, {}), (BatchSpanProcessor, {"compression": Compression.Gzip})],
    ids=["span-per-request-children-first", "one-gzip-batch"],
)
def test_nested_trace_becomes_one_log_whose_steps_match_the_spans(
    live: str, processor: type[SpanProcessor], exporter: dict[str, Any]
) -> None:
    tracer_provider = provider(live, processor, headers={"X-API-Key": TENANT_A_KEY}, **exporter)
    log_id = run_workflow(tracer_provider)
    assert tracer_provider.force_flush(10_000)
    tracer_provider.shutdown()

    response = stored(live, log_id)
    assert response.status_code == 200, response.text
    log = response.json()
    assert log["environment"] == "staging"
    assert log["workflow_version"] == "2.1.0"
    assert log["ticket_id"] == "TICKET-42"
    assert log["category"] == "billing_issue"
    assert log["resolution_status"] == "resolved"
    assert log["status"] == "SUCCESS"
    assert log["metrics"] == {"confidence": 0.93}
    assert log["execution_time_seconds"] >= 0.03
    steps = log["payload"]["trace"]
    assert [s["name"] for s in steps] == ["fetch_ticket", "classify", "call_model", "post_reply"]
    classify = steps[1]
    assert steps[2]["parent_span_id"] == classify["span_id"]
    assert classify["output"] == "billing_issue"
    assert steps[0]["input"] == "42"
    assert steps[2]["attributes"] == {"model": "triage-large"}
    assert all(s["duration_seconds"] >= 0 for s in steps)
    assert log["payload"]["otel"]["service_name"] == "ticket-triage"
    # Another tenant's key sees nothing of it.
    assert stored(live, log_id, TENANT_B_KEY).status_code == 404


def test_error_status_and_bearer_authorization(live: str) -> None:
    tracer_provider = provider(
        live, BatchSpanProcessor, headers={"Authorization": f"Bearer {TENANT_A_KEY}"}
    )
    log_id = run_workflow(tracer_provider, fail=True)
    assert tracer_provider.force_flush(10_000)
    tracer_provider.shutdown()
    log = stored(live, log_id).json()
    assert log["status"] == "ERROR"
    assert log["payload"]["trace"][-1]["status"] == "error"
    assert log["payload"]["trace"][-1]["error"] == "mail server refused"


def _json_span(
    trace_id: str, span_id: str, parent: str | None, name: str, start: int
) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 1_000_000_000),
    }
    if parent:
        span["parentSpanId"] = parent
    return span


def _json_request(*spans: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "resourceSpans": [
                {"resource": {"attributes": []}, "scopeSpans": [{"spans": list(spans)}]}
            ]
        }
    )


def test_json_spans_in_any_order_across_requests(live: str) -> None:
    trace_id = uuid.uuid4().hex
    start = time.time_ns() - 60_000_000_000
    root = _json_span(trace_id, "a" * 16, None, "run", start)
    child = _json_span(trace_id, "b" * 16, "a" * 16, "step-1", start + 1)
    late = _json_span(trace_id, "c" * 16, "a" * 16, "step-2", start + 2)
    headers = {**auth(TENANT_A_KEY), "Content-Type": "application/json"}
    for body in (_json_request(child), _json_request(root), _json_request(late)):
        response = httpx.post(
            f"{live}/v1/traces",
            content=gzip.compress(body),
            headers={**headers, "Content-Encoding": "gzip"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
    log = stored(live, str(uuid.UUID(hex=trace_id))).json()
    assert [s["name"] for s in log["payload"]["trace"]] == ["step-1", "step-2"]
    assert log["environment"] == "unknown"
    # The run was counted once, whatever the number of requests.
    page = httpx.get(f"{live}/api/v1/logs", headers=auth(TENANT_A_KEY)).json()
    assert page["total"] == 1


def test_malformed_otlp_is_400_with_a_status(live: str) -> None:
    response = httpx.post(
        f"{live}/v1/traces",
        content=b"\x0a\xff\xff",
        headers={**auth(TENANT_A_KEY), "Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 400
    status = status_pb2.Status.FromString(response.content)
    assert status.code == 3
    assert "OTLP" in status.message
    as_json = httpx.post(
        f"{live}/v1/traces",
        content=b'{"resourceSpans": 7}',
        headers={**auth(TENANT_A_KEY), "Content-Type": "application/json"},
    )
    assert as_json.status_code == 400
    assert "message" in as_json.json()
    wrong_type = httpx.post(
        f"{live}/v1/traces",
        content=b"x",
        headers={**auth(TENANT_A_KEY), "Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415
    no_key = httpx.post(
        f"{live}/v1/traces", content=b"", headers={"Content-Type": "application/json"}
    )
    assert no_key.status_code == 401
    # None of them stored anything.
    listed = httpx.get(f"{live}/api/v1/logs", headers=auth(TENANT_A_KEY))
    assert listed.json()["total"] == 0


def test_partial_success_names_what_was_rejected(live: str) -> None:
    good_trace = uuid.uuid4().hex
    start = time.time_ns()
    body = _json_request(
        _json_span(good_trace, "d" * 16, None, "run", start),
        _json_span("00" * 16, "e" * 16, None, "zero-trace-id", start),
        {"traceId": good_trace, "spanId": "f" * 16, "name": "no-start"},
    )
    response = httpx.post(
        f"{live}/v1/traces",
        content=body,
        headers={**auth(TENANT_A_KEY), "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "zero-trace-id" in partial["errorMessage"]
    assert "no-start" in partial["errorMessage"]
    assert stored(live, str(uuid.UUID(hex=good_trace))).status_code == 200
    # The good trace alone: the rejected spans left no log behind.
    listed = httpx.get(f"{live}/api/v1/logs", headers=auth(TENANT_A_KEY)).json()
    assert [item["id"] for item in listed["items"]] == [str(uuid.UUID(hex=good_trace))]


def test_protobuf_response_for_protobuf_request(live: str) -> None:
    tracer_provider = provider(live, BatchSpanProcessor, headers={"X-API-Key": TENANT_A_KEY})
    run_workflow(tracer_provider)
    tracer_provider.shutdown()
    response = httpx.post(
        f"{live}/v1/traces",
        content=b"",  # an empty export request is valid protobuf
        headers={**auth(TENANT_A_KEY), "Content-Type": "application/x-protobuf"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    ExportTraceServiceResponse.FromString(response.content)


# One bad span in an export: five good traces beside it are stored, the bad one is
# counted in partial_success, and the service never answers 500 (issue 12).

GOOD_TRACES = 5
MAX_BIGINT = 2**63 - 1


def _attribute(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value} if isinstance(value, str) else value}


def _export_spans(trace_id: str, start: int) -> list[dict[str, Any]]:
    """A root and one child, in OTLP/JSON."""
    root = _json_span(trace_id, trace_id[:16], None, "run", start)
    root["attributes"] = [_attribute("workflow.category", "billing")]
    child = _json_span(trace_id, trace_id[16:], trace_id[:16], "step", start + 1)
    return [root, child]


def _resource(**attributes: str) -> dict[str, Any]:
    return {"attributes": [_attribute(k, v) for k, v in attributes.items()]}


def _set(path: str, value: Any) -> Any:
    """A change to the bad trace's root span (or to its resource, `resource.*`)."""

    def change(root: dict[str, Any], resource: dict[str, Any]) -> None:
        if path == "resource.key":
            resource["attributes"].append(_attribute("de\x00ploy", "x"))
        elif path == "resource.value":
            resource["attributes"].append(_attribute("deploy", "x\x00y"))
        elif path == "attributes":
            root["attributes"].append(value)
        elif path == "events":
            root["events"] = [{"timeUnixNano": root["startTimeUnixNano"], "name": value}]
        elif path == "status.message":
            root["status"] = {"code": 2, "message": value}
        else:
            root[path] = value

    return change


def _times(start: int, end: int) -> Any:
    def change(root: dict[str, Any], resource: dict[str, Any]) -> None:
        root["startTimeUnixNano"], root["endTimeUnixNano"] = str(start), str(end)

    return change


def _nested_kvlist(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"stringValue": "leaf"}
    for _ in range(depth):
        value = {"kvlistValue": {"values": [{"key": "n", "value": value}]}}
    return {"key": "deep", "value": value}


# (change, JSON only, spans rejected, whether the bad trace still becomes a log)
BAD_SPANS = {
    "nul-attribute-value": (_set("attributes", _attribute("note", "a\x00b")), False, 1, False),
    "nul-attribute-key": (_set("attributes", _attribute("no\x00te", "ab")), False, 1, False),
    "nul-nested-value": (
        _set(
            "attributes",
            {
                "key": "list",
                "value": {
                    "arrayValue": {
                        "values": [{"kvlistValue": {"values": [_attribute("k", "\x00")]}}]
                    }
                },
            },
        ),
        False,
        1,
        False,
    ),
    "nul-category": (_set("attributes", _attribute("workflow.category", "a\x00")), False, 1, False),
    "nul-span-name": (_set("name", "r\x00un"), False, 1, False),
    "nul-status-message": (_set("status.message", "bro\x00ken"), False, 1, False),
    # A resource's fault is every span's under it: the root and its child.
    "nul-resource-value": (_set("resource.value", None), False, 2, False),
    "nul-resource-key": (_set("resource.key", None), False, 2, False),
    # Events are stored (issue 14): a NUL in one's name refuses its span, as in any value.
    "nul-event-name": (_set("events", "ev\x00ent"), False, 1, False),
    "start-2^63": (_times(2**63, 2**63 + 1), False, 1, False),
    "start-2^64-1": (_times(2**64 - 2, 2**64 - 1), False, 1, False),
    "end-2^63": (_set("endTimeUnixNano", str(2**63)), False, 1, False),
    # In range for the column, but the log would be 236 years in the future.
    "start-at-bigint-max": (_times(MAX_BIGINT - 10, MAX_BIGINT), False, 1, False),
    "start-zero": (_set("startTimeUnixNano", "0"), False, 1, False),
    "end-before-start": (_set("endTimeUnixNano", "1"), False, 1, False),
    "attribute-nested-20-deep": (_set("attributes", _nested_kvlist(20)), False, 1, False),
    "category-too-long": (
        _set("attributes", _attribute("workflow.category", "c" * 300)),
        False,
        1,
        False,
    ),
    # Only OTLP/JSON can say these; protobuf's fixed64 and bytes cannot.
    "start-negative": (_set("startTimeUnixNano", "-1"), True, 1, False),
    "start-2^64": (_times(2**64, 2**64 + 1), True, 1, False),
    "trace-id-not-hex": (_set("traceId", "zz" * 16), True, 1, False),
    "int-value-beyond-int64": (
        _set("attributes", {"key": "n", "value": {"intValue": str(2**63)}}),
        True,
        1,
        False,
    ),
}


def _protobuf(document: dict[str, Any]) -> bytes:
    request = ExportTraceServiceRequest()
    json_format.ParseDict(_hex_ids_as_base64(document), request)
    return bytes(request.SerializeToString())


def _hex_ids_as_base64(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: base64.b64encode(bytes.fromhex(v)).decode()
            if k in ("traceId", "spanId", "parentSpanId")
            else _hex_ids_as_base64(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids_as_base64(item) for item in node]
    return node


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
@pytest.mark.parametrize("case", BAD_SPANS)
async def test_one_bad_span_costs_only_itself(
    client: httpx.AsyncClient, case: str, encoding: str
) -> None:
    change, json_only, rejected, bad_trace_stored = BAD_SPANS[case]
    if json_only and encoding == "protobuf":
        pytest.skip("protobuf cannot encode it")
    start = time.time_ns() - 60_000_000_000
    good_ids = [uuid.uuid4().hex for _ in range(GOOD_TRACES)]
    bad_id = uuid.uuid4().hex
    bad_root, bad_child = _export_spans(bad_id, start)
    bad_resource = _resource(**{"service.name": "bad"})
    change(bad_root, bad_resource)
    good_spans = [span for trace_id in good_ids for span in _export_spans(trace_id, start)]
    document = {
        "resourceSpans": [
            {
                "resource": _resource(**{"service.name": "good"}),
                "scopeSpans": [{"spans": good_spans[:4]}],
            },
            {"resource": bad_resource, "scopeSpans": [{"spans": [bad_root, bad_child]}]},
            {"resource": _resource(), "scopeSpans": [{"spans": good_spans[4:]}]},
        ]
    }
    media_type = "application/x-protobuf" if encoding == "protobuf" else "application/json"
    body = _protobuf(document) if encoding == "protobuf" else orjson.dumps(document)
    response = await client.post(
        "/v1/traces", content=body, headers={**auth(TENANT_A_KEY), "Content-Type": media_type}
    )

    assert response.status_code == 200, response.text
    if encoding == "protobuf":
        partial = ExportTraceServiceResponse.FromString(response.content).partial_success
        rejected_spans, message = partial.rejected_spans, partial.error_message
    else:
        partial_json = response.json().get("partialSuccess", {})
        rejected_spans = int(partial_json.get("rejectedSpans", 0))
        message = partial_json.get("errorMessage", "")
    assert rejected_spans == rejected, message
    assert bool(message) == bool(rejected)
    listed = await client.get("/api/v1/logs", params={"page_size": 50}, headers=auth(TENANT_A_KEY))
    stored_ids = {item["id"] for item in listed.json()["items"]}
    expected = {str(uuid.UUID(hex=t)) for t in good_ids}
    if bad_trace_stored:
        expected.add(str(uuid.UUID(hex=bad_id)))
    assert stored_ids == expected
    good = await client.get(
        f"/api/v1/logs/{uuid.UUID(hex=good_ids[0])}", headers=auth(TENANT_A_KEY)
    )
    assert [step["name"] for step in good.json()["payload"]["trace"]] == ["step"]

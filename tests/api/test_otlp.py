"""OpenTelemetry in: the real OpenTelemetry SDK and its OTLP/HTTP exporter, pointed at
the running service, produce one workflow log per trace."""

from __future__ import annotations

import gzip
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanProcessor
from opentelemetry.trace import Status, StatusCode

from central_logger.main import create_app
from central_logger.settings import Settings
from tests.api.conftest import TENANT_A_KEY, TENANT_B_KEY, auth
from tests.api.live import LiveServer


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

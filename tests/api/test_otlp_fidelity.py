"""Traces as they really are (issue 14): what the real OpenTelemetry Python SDK sends is
kept in the run's log: kind, status and its message, attributes, events (exceptions
with their stack traces), links, resource and scope, the parent of every step;
`workflow.*` attributes from any span; a root with a remote parent; the run status
rule; the step order."""

from __future__ import annotations

import asyncio
import gzip
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)

from central_logger.db.engine import create_engine
from central_logger.db.tenancy import state_tenant
from central_logger.main import create_app
from central_logger.otlp.service import write_rootless_traces
from central_logger.settings import Settings
from tests.support.live import LiveServer
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth


@pytest.fixture
def live(settings: Settings) -> Iterator[str]:
    with LiveServer(create_app(settings, migrate=False)) as server:
        yield server.url


@pytest.fixture
def tracer_provider(live: str) -> Iterator[TracerProvider]:
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": "ticket-triage",
                "service.version": "3.0.0",
                "deployment.environment.name": "production",
                "host.name": "worker-7",
            }
        )
    )
    exporter = OTLPSpanExporter(endpoint=f"{live}/v1/traces", headers={"X-API-Key": TENANT_A_KEY})
    provider.add_span_processor(BatchSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def _flushed(provider: TracerProvider) -> None:
    assert provider.force_flush(10_000)


def _log(live: str, trace_id: int, key: str = TENANT_A_KEY) -> httpx.Response:
    return httpx.get(f"{live}/api/v1/logs/{uuid.UUID(int=trace_id)}", headers=auth(key))


def test_everything_a_user_looks_for_is_kept(live: str, tracer_provider: TracerProvider) -> None:
    tracer = tracer_provider.get_tracer("triage.agent", "0.9.1")
    other = tracer.start_span("earlier-batch")
    other.end()
    with tracer.start_as_current_span("POST /triage", kind=SpanKind.SERVER) as root:
        root.add_event("ticket.received", {"channel": "email"})
        with (
            tracer.start_as_current_span(
                "classify", links=[Link(other.get_span_context(), {"why": "same batch"})]
            ),
            tracer.start_as_current_span(
                "call_model", kind=SpanKind.CLIENT, attributes={"llm.model": "triage-large"}
            ),
        ):
            pass
        try:
            with tracer.start_as_current_span("post_reply"):
                raise ConnectionError("mail server refused")
        except ConnectionError:
            pass
        trace_id = root.get_span_context().trace_id
    _flushed(tracer_provider)

    log = _log(live, trace_id).json()
    steps = {s["name"]: s for s in log["payload"]["trace"]}
    assert list(steps) == ["classify", "call_model", "post_reply"]
    otel = log["payload"]["otel"]
    # The root: kind, events, resource, scope.
    assert otel["kind"] == "SERVER"
    assert otel["span_status"] == "unset"
    assert [e["name"] for e in otel["events"]] == ["ticket.received"]
    assert otel["events"][0]["attributes"] == {"channel": "email"}
    assert otel["resource"]["host.name"] == "worker-7"
    assert otel["scope"] == {"name": "triage.agent", "version": "0.9.1"}
    # Every step names its parent: nesting survives.
    assert steps["classify"]["parent_span_id"] == otel["span_id"]
    assert steps["call_model"]["parent_span_id"] == steps["classify"]["span_id"]
    assert steps["call_model"]["kind"] == "CLIENT"
    assert steps["call_model"]["attributes"] == {"llm.model": "triage-large"}
    linked = format(other.get_span_context().span_id, "016x")
    assert steps["classify"]["links"][0]["span_id"] == linked
    assert steps["classify"]["links"][0]["attributes"] == {"why": "same batch"}
    # The exception, with its stack trace, and the status message.
    failed = steps["post_reply"]
    assert failed["status"] == "error"
    assert failed["error"] == "ConnectionError: mail server refused"
    assert failed["exception"]["type"] == "ConnectionError"
    assert failed["exception"]["message"] == "mail server refused"
    assert 'raise ConnectionError("mail server refused")' in failed["exception"]["stacktrace"]
    assert [e["name"] for e in failed["events"]] == ["exception"]
    # A failed step under a root whose status is unset: the run failed.
    assert log["status"] == "ERROR"
    assert "resource" not in failed  # the root's resource is not repeated per step


def test_workflow_attributes_come_from_any_span_and_the_root_wins(
    live: str, tracer_provider: TracerProvider
) -> None:
    tracer = tracer_provider.get_tracer("http.server")
    with tracer.start_as_current_span(
        "POST /triage", kind=SpanKind.SERVER, attributes={"workflow.category": "from-root"}
    ) as root:
        with (
            tracer.start_as_current_span(
                "triage-ticket",
                attributes={
                    "workflow.ticket_id": "TICKET-77",
                    "workflow.category": "from-child",
                    "workflow.resolution_status": "resolved",
                    "workflow.metric.confidence": 0.8,
                },
            ),
            tracer.start_as_current_span(
                "deeper", attributes={"workflow.ticket_id": "TICKET-LATER"}
            ),
        ):
            pass
        trace_id = root.get_span_context().trace_id
    _flushed(tracer_provider)
    log = _log(live, trace_id).json()
    assert log["ticket_id"] == "TICKET-77"  # the first span in step order that has it
    assert log["category"] == "from-root"  # the root wins on conflict
    assert log["resolution_status"] == "resolved"
    assert log["metrics"] == {"confidence": 0.8}
    assert log["status"] == "SUCCESS"


def _remote_context(trace_id: int) -> Any:
    parent = SpanContext(
        trace_id=trace_id,
        span_id=0x1234567890ABCDEF,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return set_span_in_context(NonRecordingSpan(parent))


def test_a_root_with_a_remote_parent_makes_a_log(
    live: str, tracer_provider: TracerProvider
) -> None:
    tracer = tracer_provider.get_tracer("worker")
    trace_id = uuid.uuid4().int
    # INTERNAL, not SERVER: only the exporter's remote-parent flag says it is the root.
    with (
        tracer.start_as_current_span(
            "consume-ticket",
            context=_remote_context(trace_id),
            attributes={"workflow.ticket_id": "UP-1"},
        ),
        tracer.start_as_current_span("classify"),
    ):
        pass
    _flushed(tracer_provider)
    response = _log(live, trace_id)
    assert response.status_code == 200, response.text
    log = response.json()
    assert log["ticket_id"] == "UP-1"
    assert log["payload"]["otel"]["remote_parent_span_id"] == "1234567890abcdef"
    assert [s["name"] for s in log["payload"]["trace"]] == ["classify"]
    # Isolation: another tenant's key does not see it.
    assert _log(live, trace_id, TENANT_B_KEY).status_code == 404


@pytest.mark.parametrize(
    ("root_status", "expected"),
    [(StatusCode.UNSET, "ERROR"), (StatusCode.OK, "SUCCESS"), (StatusCode.ERROR, "ERROR")],
    ids=["unset-root-failed-step", "ok-root-handled-it", "error-root"],
)
def test_run_status_rule_and_the_overview_follows(
    live: str, tracer_provider: TracerProvider, root_status: StatusCode, expected: str
) -> None:
    tracer = tracer_provider.get_tracer("workflow")
    with tracer.start_as_current_span("run") as root:
        with tracer.start_as_current_span("step") as step:
            step.set_status(Status(StatusCode.ERROR, "timed out"))
        if root_status is not StatusCode.UNSET:
            root.set_status(Status(root_status))
        trace_id = root.get_span_context().trace_id
    _flushed(tracer_provider)
    log = _log(live, trace_id).json()
    assert log["status"] == expected
    assert log["payload"]["trace"][0]["error"] == "timed out"
    overview = httpx.get(f"{live}/api/v1/metrics/overview", headers=auth(TENANT_A_KEY)).json()
    assert overview["total_runs"] == 1
    assert overview["success_rate"] == (1.0 if expected == "SUCCESS" else 0.0)


def _json_span(trace_id: str, span_id: str, parent: str | None, name: str, **more: Any) -> Any:
    span: dict[str, Any] = {"traceId": trace_id, "spanId": span_id, "name": name, **more}
    if parent:
        span["parentSpanId"] = parent
    return span


def _post(live: str, *spans: Any) -> httpx.Response:
    body = orjson.dumps(
        {
            "resourceSpans": [
                {"resource": {"attributes": []}, "scopeSpans": [{"spans": list(spans)}]}
            ]
        }
    )
    return httpx.post(
        f"{live}/v1/traces",
        content=gzip.compress(body),
        headers={
            **auth(TENANT_A_KEY),
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )


def test_same_millisecond_parent_comes_before_child(live: str) -> None:
    """Millisecond clocks (JavaScript SDKs) give a parent and its first child the same
    start: the child, sent first, is still listed after its parent."""
    trace_id = uuid.uuid4().hex
    start = (time.time_ns() // 1_000_000 - 60_000) * 1_000_000
    times = {"startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 5_000_000)}
    response = _post(
        live,
        _json_span(trace_id, "c" * 16, "b" * 16, "grandchild", **times),
        _json_span(trace_id, "b" * 16, "a" * 16, "child", **times),
        _json_span(trace_id, "d" * 16, "a" * 16, "sibling", **times),
        _json_span(trace_id, "a" * 16, None, "run", **times),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {}
    log = httpx.get(
        f"{live}/api/v1/logs/{uuid.UUID(hex=trace_id)}", headers=auth(TENANT_A_KEY)
    ).json()
    assert [s["name"] for s in log["payload"]["trace"]] == ["child", "sibling", "grandchild"]


def test_server_span_with_an_absent_parent_and_no_flags_is_the_root(live: str) -> None:
    """An exporter that sets no Span.flags: a SERVER span whose parent is not in the
    trace is the trace's local root."""
    trace_id = uuid.uuid4().hex
    start = time.time_ns() - 60_000_000_000
    times = {"startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 5_000_000)}
    response = _post(
        live,
        _json_span(trace_id, "a" * 16, "f" * 16, "GET /run", kind=2, **times),
        _json_span(trace_id, "b" * 16, "a" * 16, "work", **times),
    )
    assert response.status_code == 200, response.text
    log = httpx.get(
        f"{live}/api/v1/logs/{uuid.UUID(hex=trace_id)}", headers=auth(TENANT_A_KEY)
    ).json()
    assert log["payload"]["otel"]["root_span"] == "GET /run"
    assert log["payload"]["otel"]["kind"] == "SERVER"


def test_a_remote_parent_root_that_cannot_make_a_log_is_reported(live: str) -> None:
    """Never `200 {}` for a root that will not become a log: refused and named."""
    trace_id = uuid.uuid4().hex
    start = time.time_ns() + 7_200 * 10**9  # beyond max_future_seconds (an hour)
    times = {"startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 5_000_000)}
    remote_flags = 0x300
    response = _post(
        live,
        _json_span(trace_id, "a" * 16, "f" * 16, "consume", flags=remote_flags, **times),
    )
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 1
    assert "executed_at" in partial["errorMessage"]


async def _write_rootless(settings: Settings) -> int:
    engine = create_engine(settings, settings.database_url)
    try:
        async with engine.begin() as conn:
            await state_tenant(conn, None)
            written = await write_rootless_traces(conn, max_future=timedelta(hours=1))
            # A second pass finds the log written: nothing to do for this trace.
            await write_rootless_traces(conn, max_future=timedelta(hours=1))
            return written
    finally:
        await engine.dispose()


def test_a_trace_whose_root_never_comes_is_written_without_it(
    live: str, settings: Settings, database_url: str
) -> None:
    """An INTERNAL span whose parent never arrives, from an exporter that sets no flags:
    staged, no log yet; once its spans are ROOTLESS_AFTER_SECONDS old, the purger's
    pass writes the log from its earliest span whose parent is not in the trace."""
    trace_id = uuid.uuid4().hex
    start = time.time_ns() - 3_600 * 10**9
    times = {"startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 5_000_000)}
    response = _post(
        live,
        _json_span(trace_id, "b" * 16, "f" * 16, "consume-ticket", **times),
        _json_span(trace_id, "c" * 16, "b" * 16, "classify", **times),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {}
    log_url = f"{live}/api/v1/logs/{uuid.UUID(hex=trace_id)}"
    assert httpx.get(log_url, headers=auth(TENANT_A_KEY)).status_code == 404
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE otlp_spans SET received_at = now() - interval '20 minutes' WHERE trace_id = %s",
            (trace_id,),
        )
    assert asyncio.run(_write_rootless(settings)) >= 1
    log = httpx.get(log_url, headers=auth(TENANT_A_KEY)).json()
    assert log["payload"]["otel"]["root_span"] == "consume-ticket"
    assert log["payload"]["otel"]["remote_parent_span_id"] == "f" * 16
    assert [s["name"] for s in log["payload"]["trace"]] == ["classify"]
    assert httpx.get(log_url, headers=auth(TENANT_B_KEY)).status_code == 404

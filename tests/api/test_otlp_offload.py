"""A large OTLP export is decoded in a worker process (http/offload.py), like a large
JSON batch: the same stored log and the same answers as a small one decoded in a thread,
and a malformed large export still gets its 400 in the request's encoding."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from central_logger.http.offload import CpuOffload
from central_logger.ratelimit.dependencies import UNBUDGETED_BODY_BYTES
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth

JSON_HEADERS = {**auth(TENANT_A_KEY), "Content-Type": "application/json"}


def _span(trace_id: str, span_id: str, parent: str | None, name: str, start: int) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 1_000_000),
        "attributes": [{"key": "pad", "value": {"stringValue": "p" * 300}}],
    }
    if parent:
        span["parentSpanId"] = parent
    return span


def _export(trace_id: str, steps: int) -> bytes:
    start = time.time_ns() - 60_000_000_000
    root_id = "a" * 16
    spans = [_span(trace_id, root_id, None, "run", start)]
    spans += [
        _span(trace_id, f"{i + 1:016x}", root_id, f"step-{i}", start + i + 1) for i in range(steps)
    ]
    return orjson.dumps(
        {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": spans}]}]}
    )


async def test_a_large_export_is_decoded_in_a_worker_process(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    offload: CpuOffload = app.state.central_logger.offload
    small_trace = uuid.uuid4().hex
    small = await client.post("/v1/traces", content=_export(small_trace, 2), headers=JSON_HEADERS)
    assert small.status_code == 200, small.text
    assert not offload.started  # a small export stays in a thread

    large_trace = uuid.uuid4().hex
    body = _export(large_trace, 300)
    assert len(body) > UNBUDGETED_BODY_BYTES
    large = await client.post("/v1/traces", content=body, headers=JSON_HEADERS)
    assert large.status_code == 200, large.text
    assert large.json().get("partialSuccess", {}).get("rejectedSpans", 0) in (0, "0")
    assert offload.started

    log_id = str(uuid.UUID(hex=large_trace))
    stored = await client.get(f"/api/v1/logs/{log_id}", headers=auth(TENANT_A_KEY))
    assert stored.status_code == 200
    steps = stored.json()["payload"]["trace"]
    assert [step["name"] for step in steps] == [f"step-{i}" for i in range(300)]
    other = await client.get(f"/api/v1/logs/{log_id}", headers=auth(TENANT_B_KEY))
    assert other.status_code == 404


async def test_a_malformed_large_export_is_a_400_from_the_worker(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    body = b'{"resourceSpans": [' + b" " * (UNBUDGETED_BODY_BYTES + 1)
    response = await client.post("/v1/traces", content=body, headers=JSON_HEADERS)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["message"]
    assert app.state.central_logger.offload.started

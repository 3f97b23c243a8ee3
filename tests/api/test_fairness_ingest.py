"""Ingestion over HTTP, fair across tenants: one tenant's flood of large batches leaves
another tenant's single logs within a bound. The batch's validation yields the event
loop every few milliseconds, and the group commit takes tenants in turn (the writer's
own test, test_fairness_group_commit, covers that part alone)."""

from __future__ import annotations

import asyncio
import time
from statistics import median
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from central_logger.ratelimit.concurrency import ConcurrencyBudget
from tests.support.factories import a_log
from tests.support.live import p95
from tests.support.tenants import TENANT_A, TENANT_A_KEY, TENANT_B_KEY, auth

LOADED_SECONDS = 5.0
SENDERS = 12
# Encoded once: the client shares the test's event loop, and its own JSON encoding of
# a 1000-log batch would count against tenant B.
BATCH = orjson.dumps({"logs": [a_log() for _ in range(1000)]})
JSON = {"Content-Type": "application/json"}


async def single_logs_as_b(client: httpx.AsyncClient, seconds: float) -> list[float]:
    timings: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        response = await client.post("/api/v1/logs", json=a_log(), headers=auth(TENANT_B_KEY))
        timings.append(time.perf_counter() - started)
        assert response.status_code == 201, response.text
    return timings


async def test_one_tenants_batches_leave_anothers_single_logs_within_bounds(
    client: httpx.AsyncClient,
) -> None:
    await single_logs_as_b(client, 0.5)  # warm: keys cached, statements prepared
    unloaded = await single_logs_as_b(client, 2.0)

    stop = asyncio.Event()
    batches: list[int] = []

    async def batches_as_a() -> None:
        while not stop.is_set():
            response = await client.post(
                "/api/v1/logs/batch", content=BATCH, headers=auth(TENANT_A_KEY) | JSON
            )
            assert response.status_code == 200, response.text
            batches.append(response.json()["accepted"])

    senders = [asyncio.create_task(batches_as_a()) for _ in range(SENDERS)]
    try:
        await asyncio.sleep(0.5)
        loaded = await single_logs_as_b(client, LOADED_SECONDS)
    finally:
        stop.set()
        await asyncio.gather(*senders)

    assert sum(batches) >= 2000, "tenant A's batches did not run alongside"
    print(
        f"\nB single-log median {median(unloaded) * 1000:.1f} -> {median(loaded) * 1000:.1f} ms,"
        f" p95 {p95(unloaded) * 1000:.1f} -> {p95(loaded) * 1000:.1f} ms;"
        f" A stored {sum(batches)} logs"
    )
    # Measured on the 2-core development machine: loaded by other jobs, p95 0.7-3.8x
    # over 21 runs (before the parse offload: 4.5-7x); idle, where B's unloaded p95 is
    # only ~3 ms, 4.5-5.8x (B's loaded p95 stays 14-22 ms either way: A's inserts and
    # its parse worker share the two cores with B's). The target is 5x; the
    # bound asserted stays the 10x that landed before, since 5x failed a clean CI run
    # (5.8x). Median 0.9-3x. Large batches are parsed and validated in a worker process
    # (http/offload.py) and answered as plain data.
    # Without the ingestion budget (INGEST_CONCURRENCY_PER_TENANT=64): median 18x, p95 42x.
    assert median(loaded) <= 3 * median(unloaded)
    assert p95(loaded) <= 10 * p95(unloaded)


@pytest.mark.parametrize(
    "settings_overrides",
    [{"ingest_concurrency_per_tenant": 1, "ingest_queue_timeout_seconds": 0.3}],
)
async def test_a_batch_over_the_tenants_ingestion_budget_waits_then_gets_429(
    client: httpx.AsyncClient, app: FastAPI, settings_overrides: dict[str, Any]
) -> None:
    budget: ConcurrencyBudget = app.state.central_logger.rate_limiter.ingest_work
    small = orjson.dumps({"logs": [a_log(), a_log()]})
    # Tenant A's one slot is taken (as by a large batch of its own being validated).
    async with budget.slot(TENANT_A):
        refused = await client.post(
            "/api/v1/logs/batch", content=small, headers=auth(TENANT_A_KEY) | JSON
        )
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["errors"] == [
            {"field": "rate.ingest", "reason": "concurrent ingestion budget spent"}
        ]
        # An OTLP export is the same work and takes the same turn.
        export = await client.post(
            "/v1/traces", content=b'{"resourceSpans": []}', headers=auth(TENANT_A_KEY) | JSON
        )
        assert export.status_code == 429
        assert export.json()["errors"][0]["field"] == "rate.ingest"
        # Tenant B has its own budget; a single log is not budgeted work.
        other = await client.post(
            "/api/v1/logs/batch", content=small, headers=auth(TENANT_B_KEY) | JSON
        )
        assert other.status_code == 200
        assert other.json()["accepted"] == 2
        single = await client.post("/api/v1/logs", json=a_log(), headers=auth(TENANT_A_KEY))
        assert single.status_code == 201
        # A batch that waits less than the bound is stored when the slot comes free.
        waiting = asyncio.create_task(
            client.post("/api/v1/logs/batch", content=small, headers=auth(TENANT_A_KEY) | JSON)
        )
        await asyncio.sleep(0.1)
    stored = await waiting
    assert stored.status_code == 200
    assert stored.json()["accepted"] == 2
    assert budget.running(TENANT_A) == 0
    listed = await client.get("/api/v1/logs", headers=auth(TENANT_A_KEY))
    assert listed.json()["total"] == 3

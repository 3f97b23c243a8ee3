"""The per-tenant read budget: one tenant's many expensive reads wait in its own queue
(or get a 429 with Retry-After), and another tenant's reads keep their latency."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from central_logger.ratelimit.concurrency import ConcurrencyBudget
from tests.support.factories import a_log
from tests.support.live import p95
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B_KEY, auth

LOADED_SECONDS = 5.0
# A deep, filtered page: PostgreSQL reads and skips tens of thousands of rows.
EXPENSIVE = {"page": 60, "page_size": 500, "min_execution_time": 0.5}


def seed_tenant_a(database_url: str, rows: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO workflow_logs (id, client_id, environment, executed_at,"
            " execution_time_seconds, status, category, payload)"
            " SELECT gen_random_uuid(), %s, 'production',"
            " now() - make_interval(secs => n), 1 + n %% 7, 'SUCCESS', 'billing',"
            " jsonb_build_object('trace', repeat('x', 300))"
            " FROM generate_series(1, %s) AS n",
            (TENANT_A, rows),
        )
        conn.execute("ANALYZE workflow_logs")


async def read_as_b(client: httpx.AsyncClient, seconds: float) -> list[float]:
    timings: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        response = await client.get(
            "/api/v1/logs", params={"page_size": 20}, headers=auth(TENANT_B_KEY)
        )
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return timings


async def test_one_tenants_expensive_reads_leave_anothers_latency_within_5x(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    seed_tenant_a(empty_database, 40_000)
    for _ in range(3):
        await client.post("/api/v1/logs", json=a_log(), headers=auth(TENANT_B_KEY))
    await read_as_b(client, 0.5)  # warm: keys cached, statements prepared
    unloaded = await read_as_b(client, 2.0)

    statuses: list[int] = []
    stop = asyncio.Event()

    async def expensive_reads_as_a() -> None:
        while not stop.is_set():
            response = await client.get(
                "/api/v1/logs", params=EXPENSIVE, headers=auth(TENANT_A_KEY)
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["Retry-After"]) >= 1
                assert response.headers["content-type"] == "application/problem+json"
                await asyncio.sleep(0.2)  # a client that honours Retry-After, sooner

    abusers = [asyncio.create_task(expensive_reads_as_a()) for _ in range(24)]
    try:
        await asyncio.sleep(0.5)
        loaded = await read_as_b(client, LOADED_SECONDS)
    finally:
        stop.set()
        await asyncio.gather(*abusers)

    assert set(statuses) <= {200, 429}
    assert statuses.count(200) >= 10, "tenant A's reads were refused rather than queued"
    before, during = p95(unloaded), p95(loaded)
    assert during <= 5 * before, (
        f"tenant B's list p95 went from {before * 1000:.1f} ms to {during * 1000:.1f} ms "
        f"under tenant A's 24 concurrent expensive reads"
    )


@pytest.mark.parametrize(
    "settings_overrides",
    [{"read_concurrency_per_tenant": 1, "read_queue_timeout_seconds": 0.3}],
)
async def test_a_read_over_the_tenants_budget_waits_then_gets_429_with_retry_after(
    client: httpx.AsyncClient, app: FastAPI, settings_overrides: dict[str, Any]
) -> None:
    budget: ConcurrencyBudget = app.state.central_logger.rate_limiter.reads
    # Tenant A's one read slot is taken (as by a long read of its own).
    async with budget.slot(TENANT_A):
        refused = await client.get("/api/v1/logs", headers=auth(TENANT_A_KEY))
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"] == [
            {"field": "rate.reads", "reason": "concurrent read budget spent"}
        ]
        # An admin key narrowed to tenant A spends tenant A's budget...
        narrowed = await client.get(
            "/api/v1/metrics/overview", params={"client_id": TENANT_A}, headers=auth(ADMIN_KEY)
        )
        assert narrowed.status_code == 429
        # ... while tenant B, and the admin's view of every tenant, have their own.
        other = await client.get("/api/v1/logs", headers=auth(TENANT_B_KEY))
        assert other.status_code == 200
        everyone = await client.get("/api/v1/logs", headers=auth(ADMIN_KEY))
        assert everyone.status_code == 200
        # A read that waits less than the bound is served when the slot comes free.
        waiting = asyncio.create_task(client.get("/api/v1/logs", headers=auth(TENANT_A_KEY)))
        await asyncio.sleep(0.1)
    assert (await waiting).status_code == 200
    assert budget.running(TENANT_A) == 0

"""Fairness against slow clients: no request holds a database connection while it waits
on the network, so one tenant's slow uploads (and slow readers) cannot starve the
connection pool that every tenant and /health share.

On a real uvicorn with a pool of two connections, tenant A holds more slow uploads
than the pool has connections, on every ingestion route, and reads large pages it never
takes in; tenant B's reads and ingestion keep answering within 5x their unloaded p95,
and /health keeps answering 200."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.factories import a_log
from tests.support.live import LiveServer, p95, slow_read, trickle_upload
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth

# Longer than the pool's 5 s checkout timeout: a starved pool answers 503 within it.
LOADED_SECONDS = 6.5
UNLOADED_SECONDS = 2.0


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"db_pool_size": 2, "db_max_overflow": 0}


@pytest.fixture
def live(settings: Settings) -> Iterator[str]:
    with LiveServer(create_app(settings, migrate=False)) as server:
        yield server.url


Samples = dict[str, list[tuple[int, float]]]


async def tenant_b_traffic(http: httpx.AsyncClient, seconds: float) -> Samples:
    """Tenant B's reads and single-log ingestion, and /health, in turn, for `seconds`."""
    samples: Samples = defaultdict(list)
    calls = {
        "health": lambda: http.get("/health"),
        "list": lambda: http.get(
            "/api/v1/logs", params={"page_size": 20}, headers=auth(TENANT_B_KEY)
        ),
        "overview": lambda: http.get("/api/v1/metrics/overview", headers=auth(TENANT_B_KEY)),
        "ingest": lambda: http.post("/api/v1/logs", json=a_log(), headers=auth(TENANT_B_KEY)),
    }
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for kind, call in calls.items():
            started = time.perf_counter()
            response = await call()
            samples[kind].append((response.status_code, time.perf_counter() - started))
    return samples


async def test_slow_uploads_and_readers_of_one_tenant_do_not_starve_another(live: str) -> None:
    async with httpx.AsyncClient(base_url=live, timeout=30) as http:
        big_page = [a_log(payload={"blob": "x" * 4000}) for _ in range(300)]
        response = await http.post(
            "/api/v1/logs/batch", json={"logs": big_page}, headers=auth(TENANT_A_KEY)
        )
        assert response.status_code == 200
        await tenant_b_traffic(http, 0.5)  # warm: keys cached, statements prepared
        unloaded = await tenant_b_traffic(http, UNLOADED_SECONDS)

        json_a = {**auth(TENANT_A_KEY), "Content-Type": "application/json"}
        abuse = [
            *(trickle_upload(live, "/v1/traces", json_a) for _ in range(4)),
            *(trickle_upload(live, "/api/v1/logs", json_a) for _ in range(2)),
            *(trickle_upload(live, "/api/v1/logs/batch", json_a) for _ in range(2)),
            *(slow_read(live, "/api/v1/logs?page_size=300", auth(TENANT_A_KEY)) for _ in range(3)),
        ]
        tasks = [asyncio.create_task(coroutine) for coroutine in abuse]
        try:
            await asyncio.sleep(0.5)  # every abuser has sent its head
            assert not any(task.done() for task in tasks), "an abuser stopped early"
            loaded = await tenant_b_traffic(http, LOADED_SECONDS)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    assert {status for status, _ in loaded["health"]} == {200}
    for kind in ("list", "overview", "ingest"):
        statuses = {status for status, _ in loaded[kind]}
        assert statuses <= {200, 201}, f"tenant B's {kind} answered {statuses}"
        before = p95([seconds for _, seconds in unloaded[kind]])
        during = p95([seconds for _, seconds in loaded[kind]])
        assert during <= 5 * before, (
            f"tenant B's {kind} p95 went from {before * 1000:.1f} ms to "
            f"{during * 1000:.1f} ms while tenant A uploaded slowly"
        )

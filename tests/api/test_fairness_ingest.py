"""Ingestion over HTTP, fair across tenants: one tenant's flood of large batches leaves
another tenant's single logs within a bound. The batch's validation yields the event
loop every few milliseconds, and the group commit takes tenants in turn (the writer's
own test, test_fairness_group_commit, covers that part alone)."""

from __future__ import annotations

import asyncio
import time
from statistics import median

import httpx
import orjson

from tests.api.conftest import TENANT_A_KEY, TENANT_B_KEY, auth
from tests.api.factories import a_log
from tests.api.live import p95

LOADED_SECONDS = 5.0
SENDERS = 4
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
    assert median(loaded) <= 5 * median(unloaded)
    assert p95(loaded) <= 5 * p95(unloaded)

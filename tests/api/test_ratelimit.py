"""Per-key ingestion budgets: 429 with Retry-After and the RateLimit headers, per key,
per client override, in memory and on Redis (shared by every worker)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.factories import a_log
from tests.support.requirements import missing
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth

REDIS_URL = "redis://127.0.0.1:6379/0"

# Budgets refill slowly enough that the bursts, not the machine's speed, decide: at one
# request per second a slow CI run refilled a token between the third and fourth request.
SMALL = {
    "rate_limit_requests_per_second": 0.01,
    "rate_limit_requests_burst": 3,
    "rate_limit_logs_per_second": 0.1,
    "rate_limit_logs_burst": 20,
}


def _redis_unreachable() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} is unreachable ({type(exc).__name__})"
    return None


async def _ingest(client: httpx.AsyncClient, key: str = TENANT_A_KEY) -> httpx.Response:
    return await client.post("/api/v1/logs", json=a_log(), headers=auth(key))


def _assert_429(response: httpx.Response, budget: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit"].startswith(f'"{budget}";r=')
    assert response.headers["RateLimit-Policy"].startswith(f'"{budget}";q=')
    assert response.json()["errors"][0]["field"] == f"rate.{budget}"


@pytest.mark.parametrize("settings_overrides", [SMALL])
async def test_request_burst_then_429(client: httpx.AsyncClient, empty_database: str) -> None:
    statuses = [(await _ingest(client)).status_code for _ in range(3)]
    assert statuses == [201, 201, 201]
    refused = await _ingest(client)
    _assert_429(refused, "requests")
    assert refused.headers["RateLimit-Policy"] == '"requests";q=3;w=300'
    # Another key has its own budget.
    assert (await _ingest(client, TENANT_B_KEY)).status_code == 201


@pytest.mark.parametrize("settings_overrides", [SMALL])
async def test_logs_budget_counts_batch_items(client: httpx.AsyncClient) -> None:
    batch = [a_log() for _ in range(15)]
    first = await client.post("/api/v1/logs/batch", json=batch, headers=auth(TENANT_A_KEY))
    assert first.status_code == 200
    second = await client.post("/api/v1/logs/batch", json=batch, headers=auth(TENANT_A_KEY))
    _assert_429(second, "logs")
    too_big = await client.post(
        "/api/v1/logs/batch", json=[a_log()] * 21, headers=auth(TENANT_B_KEY)
    )
    # It could never fit: retrying would not help, so it is not a 429.
    assert too_big.status_code == 413
    assert "burst" in too_big.json()["detail"]


@pytest.mark.parametrize(
    "settings_overrides",
    [{**SMALL, "rate_limit_overrides": {"tenant_b": {"requests_burst": 6}}}],
)
async def test_per_client_override(client: httpx.AsyncClient) -> None:
    b = [(await _ingest(client, TENANT_B_KEY)).status_code for _ in range(7)]
    assert b == [201] * 6 + [429]
    a = [(await _ingest(client)).status_code for _ in range(4)]
    assert a == [201] * 3 + [429]


@pytest.mark.parametrize("settings_overrides", [SMALL])
async def test_reads_are_not_limited(client: httpx.AsyncClient) -> None:
    statuses = {
        (await client.get("/api/v1/logs", headers=auth(TENANT_A_KEY))).status_code
        for _ in range(10)
    }
    assert statuses == {200}


@pytest.mark.parametrize("settings_overrides", [{**SMALL, "rate_limit_enabled": False}])
async def test_can_be_disabled(client: httpx.AsyncClient) -> None:
    assert {(await _ingest(client)).status_code for _ in range(6)} == {201}


@pytest.fixture
async def two_workers_on_redis(settings: Settings) -> AsyncIterator[list[httpx.AsyncClient]]:
    reason = _redis_unreachable()
    if reason:
        missing(f"{reason}: start Redis (apt-get install redis-server)")
    # A fresh key space per test run: budgets are keyed by client and key prefix.
    suffix = secrets.token_hex(4)
    values: dict[str, Any] = {
        **settings.model_dump(),
        **SMALL,
        "redis_url": REDIS_URL,
        "api_keys": {TENANT_A_KEY + suffix: "tenant_a_" + suffix},
    }
    apps: list[FastAPI] = [
        create_app(Settings(_env_file=None, **values), migrate=False) for _ in range(2)
    ]
    async with LifespanManager(apps[0]), LifespanManager(apps[1]):
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://t")
            for a in apps
        ]
        clients[0].headers.update(auth(TENANT_A_KEY + suffix))
        clients[1].headers.update(auth(TENANT_A_KEY + suffix))
        yield clients
        for c in clients:
            await c.aclose()


async def test_redis_budget_is_shared_by_workers(
    two_workers_on_redis: list[httpx.AsyncClient],
) -> None:
    first, second = two_workers_on_redis
    statuses = []
    for i in range(4):
        worker = first if i % 2 == 0 else second
        statuses.append((await worker.post("/api/v1/logs", json=a_log())).status_code)
    # Two separate in-memory budgets would have allowed all four.
    assert statuses == [201, 201, 201, 429]
    _assert_429(await second.post("/api/v1/logs", json=a_log()), "requests")


@pytest.mark.parametrize("settings_overrides", [{**SMALL, "redis_url": "redis://127.0.0.1:1/0"}])
async def test_unreachable_redis_does_not_block_ingestion(client: httpx.AsyncClient) -> None:
    assert {(await _ingest(client)).status_code for _ in range(5)} == {201}

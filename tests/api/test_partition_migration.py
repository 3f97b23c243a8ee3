"""A database at the head before time partitions, with logs in it, migrates in place:
every API answer afterwards is the one a database built at head and sent the same logs
through the API gives."""

from __future__ import annotations

import functools
import random
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from alembic import command
from asgi_lifespan import LifespanManager
from psycopg import sql

from central_logger.db.migrate import alembic_config
from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.databases import libpq_to_url, with_database
from tests.support.tenants import ADMIN_KEY, auth

BEFORE_PARTITIONS = "20261128_admin_scope"
TENANTS = ("north", "south", "east")


@functools.cache
def module_now() -> datetime:
    """The tests' "now": taken when the first test asks, not at import (collection can
    run long before), and then the same for every test of the module."""
    return datetime.now(UTC).replace(microsecond=0)


def _logs(count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    logs = []
    for i in range(count):
        logs.append(
            {
                "client_id": TENANTS[i % 3],
                "id": f"{rng.getrandbits(128):032x}",
                "environment": rng.choice(["production", "staging"]),
                "workflow_version": rng.choice(["1.0", "1.1", None]),
                "ticket_id": rng.choice([f"T-{i}", None]),
                "executed_at": module_now() - timedelta(minutes=rng.randrange(1, 20 * 24 * 60)),
                "execution_time_seconds": rng.choice([None, round(rng.uniform(0.1, 40), 3)]),
                "status": rng.choice(["SUCCESS", "SUCCESS", "FAILED", "TIMEOUT"]),
                "category": rng.choice(["billing", "refund", None]),
                "resolution_status": rng.choice(["resolved", None]),
                "metrics": {"confidence": round(rng.random(), 3)},
                "payload": {"trace": [{"name": "step", "duration_seconds": 1.0}], "n": i},
            }
        )
    return logs


@pytest.fixture
def databases(server_url: str) -> Iterator[tuple[str, str]]:
    names = [f"central_logger_partitions_{secrets.token_hex(4)}" for _ in range(2)]
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in names:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        migrated, built = (libpq_to_url(with_database(server_url, n)) for n in names)
        yield migrated, built
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            for name in names:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


_INSERT = """
    INSERT INTO workflow_logs (id, client_id, environment, workflow_version, ticket_id,
        executed_at, execution_time_seconds, status, category, resolution_status, metrics,
        payload)
    VALUES (%(id)s, %(client_id)s, %(environment)s, %(workflow_version)s, %(ticket_id)s,
        %(executed_at)s, %(execution_time_seconds)s, %(status)s, %(category)s,
        %(resolution_status)s, %(metrics)s, %(payload)s)
"""


@asynccontextmanager
async def _api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        environment="development",
        admin_api_keys=[ADMIN_KEY],
        retention_days=3650,
    )
    app = create_app(settings, migrate=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


def _span(days: int) -> dict[str, str]:
    return {
        "from": (module_now() - timedelta(days=days)).isoformat(),
        "to": module_now().isoformat(),
    }


def _queries() -> list[tuple[str, dict[str, Any]]]:
    queries: list[tuple[str, dict[str, Any]]] = [("/api/v1/logs", {"page_size": 500})]
    for tenant in TENANTS:
        base = {"client_id": tenant}
        queries += [
            ("/api/v1/logs", {**base, "page_size": 500}),
            ("/api/v1/logs", {**base, "status": "FAILED", "page_size": 100}),
            ("/api/v1/logs", {**base, "category": "refund", "order": "asc"}),
            ("/api/v1/logs", {**base, "category": "uncategorized", "page": 2, "page_size": 5}),
            ("/api/v1/logs", {**base, "environment": "staging", "min_execution_time": 5}),
            (
                "/api/v1/logs",
                {
                    **base,
                    "from": (module_now() - timedelta(days=3)).isoformat(),
                    "to": (module_now() - timedelta(days=1)).isoformat(),
                },
            ),
            ("/api/v1/metrics/overview", {**base, **_span(7)}),
            ("/api/v1/metrics/overview", {**base, **_span(30)}),
            ("/api/v1/metrics/categories", {**base, **_span(30)}),
        ]
    return queries


def _comparable(value: Any) -> Any:
    """Without created_at (the time of the insert), and floats to 9 significant digits:
    sums of durations folded in another order differ in their last bits."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k != "created_at"}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.9g}")
    return value


async def _answers(client: httpx.AsyncClient, logs: list[dict[str, Any]]) -> list[Any]:
    answers = []
    for path, params in _queries():
        response = await client.get(path, params=params, headers=auth(ADMIN_KEY))
        assert response.status_code == 200, (path, params, response.text)
        answers.append(_comparable(response.json()))
    for log in logs[:30]:
        response = await client.get(
            f"/api/v1/logs/{log['id']}",
            params={"client_id": log["client_id"]},
            headers=auth(ADMIN_KEY),
        )
        assert response.status_code == 200
        answers.append(_comparable(response.json()))
    # Cursor paging walks the same pages.
    cursor, walked = None, []
    while True:
        params = {"client_id": "north", "page_size": 37, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/logs", params=params, headers=auth(ADMIN_KEY))).json()
        walked += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    answers.append(walked)
    return answers


async def test_an_existing_database_migrates_in_place_with_every_answer_kept(
    databases: tuple[str, str],
) -> None:
    migrated, built = databases
    logs = _logs(900)
    command.upgrade(alembic_config(migrated), BEFORE_PARTITIONS)
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("SELECT set_config('app.is_admin', 'on', false)")
        with conn.cursor() as cur:
            cur.executemany(
                _INSERT,
                [
                    {
                        **log,
                        "metrics": orjson.dumps(log["metrics"]).decode(),
                        "payload": orjson.dumps(log["payload"]).decode(),
                    }
                    for log in logs[:600]
                ],
            )
        conn.execute("SELECT workflow_log_rollup_fold()")
        with conn.cursor() as cur:  # and some left pending at the migration
            cur.executemany(
                _INSERT,
                [
                    {
                        **log,
                        "metrics": orjson.dumps(log["metrics"]).decode(),
                        "payload": orjson.dumps(log["payload"]).decode(),
                    }
                    for log in logs[600:]
                ],
            )
    command.upgrade(alembic_config(migrated), "head")
    command.upgrade(alembic_config(built), "head")

    async with _api(built) as client:
        for tenant in TENANTS:
            batch = [
                {
                    **{k: v for k, v in log.items() if k != "client_id"},
                    "executed_at": log["executed_at"].isoformat(),
                }
                for log in logs
                if log["client_id"] == tenant
            ]
            response = await client.post(
                "/api/v1/logs/batch",
                params={"client_id": tenant},
                json={"logs": batch},
                headers=auth(ADMIN_KEY),
            )
            assert response.json()["accepted"] == len(batch), response.text
    for url in (migrated, built):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT workflow_log_rollup_fold()")
            conn.execute("ANALYZE")

    async with _api(migrated) as client:
        after_migration = await _answers(client, logs)
        # A replay of a log stored before the migration is a duplicate, even when its
        # time differs (so it would land in another partition).
        replay = {
            **{k: v for k, v in logs[0].items() if k != "client_id"},
            "executed_at": (module_now() - timedelta(days=40)).isoformat(),
        }
        response = await client.post(
            "/api/v1/logs",
            params={"client_id": logs[0]["client_id"]},
            json=replay,
            headers=auth(ADMIN_KEY),
        )
        assert response.status_code == 200
        assert response.json()["duplicate"] is True
    async with _api(built) as client:
        fresh = await _answers(client, logs)
    assert len(after_migration) == len(fresh)
    for index, (got, want) in enumerate(zip(after_migration, fresh, strict=True)):
        assert got == want, index

"""Keys made by the CLI: they work, carry scopes, expire, and stop at revocation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from typer.testing import CliRunner

from central_logger.auth import service as keys_service
from central_logger.auth.schemas import Scope
from central_logger.cli import app as cli
from central_logger.http.state import AppState
from tests.api.conftest import TENANT_A_KEY, auth
from tests.api.factories import a_log

runner = CliRunner()


async def run_cli(database_url: str, *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(
        runner.invoke, cli, list(args), env={"DATABASE_URL": database_url}
    )
    return result.exit_code, result.stdout, result.stderr


async def create_key(database_url: str, *args: str) -> str:
    code, out, err = await run_cli(database_url, "keys", "create", *args)
    assert code == 0, err
    return out.strip()


async def test_cli_key_lifecycle(client: httpx.AsyncClient, empty_database: str) -> None:
    key = await create_key(empty_database, "--client-id", "cli_tenant", "--name", "ci")
    assert key.startswith("cl_")
    assert len(key) > 40
    created = await client.post("/api/v1/logs", json=a_log(), headers=auth(key))
    assert created.status_code == 201
    page = (await client.get("/api/v1/logs", headers=auth(key))).json()
    assert [i["client_id"] for i in page["items"]] == ["cli_tenant"]

    code, listing, _ = await run_cli(empty_database, "keys", "list")
    assert code == 0
    prefix = key[:11]
    assert prefix in listing
    assert "cli_tenant" in listing
    assert "active" in listing
    assert key not in listing

    with psycopg.connect(empty_database) as conn:
        stored = conn.execute(
            "SELECT key_hash FROM api_keys WHERE prefix = %s", (prefix,)
        ).fetchone()
    assert stored is not None
    assert key.encode() not in bytes(stored[0])

    code, out, _ = await run_cli(empty_database, "keys", "revoke", prefix)
    assert code == 0
    assert "revoked" in out
    # Cached lookups live KEY_CACHE_TTL_SECONDS (0.5 s in tests); then the key is refused.
    await asyncio.sleep(0.6)
    refused = await client.get("/api/v1/logs", headers=auth(key))
    assert refused.status_code == 401

    code, _, err = await run_cli(empty_database, "keys", "revoke", prefix)
    assert code == 1
    assert "no active key" in err


async def test_scopes_are_enforced(client: httpx.AsyncClient, empty_database: str) -> None:
    ingest_only = await create_key(empty_database, "--client-id", "c1", "--scopes", "ingest")
    read_only = await create_key(empty_database, "--client-id", "c1", "--scopes", "read")
    assert (
        await client.post("/api/v1/logs", json=a_log(), headers=auth(ingest_only))
    ).status_code == 201
    forbidden = await client.get("/api/v1/logs", headers=auth(ingest_only))
    assert forbidden.status_code == 403
    assert "read" in forbidden.json()["detail"]
    assert (
        await client.post("/api/v1/logs", json=a_log(), headers=auth(read_only))
    ).status_code == 403
    assert (await client.get("/api/v1/logs", headers=auth(read_only))).json()["total"] == 1
    code, _, _ = await run_cli(
        empty_database, "keys", "create", "--client-id", "c1", "--scopes", "root"
    )
    assert code != 0


async def test_cli_admin_key_reads_every_tenant(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    admin = await create_key(empty_database, "--client-id", "provider", "--admin")
    await client.post("/api/v1/logs", json=a_log(), headers=auth(TENANT_A_KEY))
    page = (await client.get("/api/v1/logs", headers=auth(admin))).json()
    assert [i["client_id"] for i in page["items"]] == ["tenant_a"]
    assert (await client.get("/api/v1/me", headers=auth(admin))).json()["is_admin"] is True


async def test_expired_key_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    state: AppState = app.state.central_logger
    async with state.engine.begin() as conn:
        expired = await keys_service.create_key(
            conn,
            client_id="c2",
            scopes=[Scope.READ],
            is_admin=False,
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
    assert (await client.get("/api/v1/logs", headers=auth(expired.key))).status_code == 401


async def test_last_used_is_recorded_without_a_write_per_request(
    app: FastAPI, client: httpx.AsyncClient, empty_database: str
) -> None:
    key = await create_key(empty_database, "--client-id", "c3")
    for _ in range(3):
        assert (await client.get("/api/v1/logs", headers=auth(key))).status_code == 200
    with psycopg.connect(empty_database) as conn:
        before = conn.execute("SELECT last_used_at FROM api_keys").fetchone()
    assert before == (None,)
    state: AppState = app.state.central_logger
    await state.key_store.flush_last_used()
    with psycopg.connect(empty_database) as conn:
        after = conn.execute("SELECT last_used_at FROM api_keys").fetchone()
    assert after is not None
    assert after[0] is not None


@pytest.mark.parametrize("settings_overrides", [{"key_cache_ttl_seconds": 60}])
async def test_unknown_keys_are_cached_so_a_flood_costs_no_queries(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    state: AppState = app.state.central_logger
    key_lookups: list[str] = []

    def count_key_lookups(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "api_keys" in statement:
            key_lookups.append(statement)

    event.listen(state.engine.sync_engine, "before_cursor_execute", count_key_lookups)
    try:
        for _ in range(50):
            response = await client.get("/api/v1/logs", headers=auth("flood"))
            assert response.status_code == 401
    finally:
        event.remove(state.engine.sync_engine, "before_cursor_execute", count_key_lookups)
    # The first request asks the key store; the other 49 are answered from the cache.
    assert len(key_lookups) == 1
    assert state.engine.pool.checkedout() == 0
    # One lookup for the 50 requests: the pool has opened at most the connections it needed.
    assert state.engine.pool.size() <= state.settings.db_pool_size

"""Keys made by the CLI: they work, carry scopes, expire, and stop at revocation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import event

from central_logger.auth import service as keys_service
from central_logger.auth.keys import generate_key
from central_logger.auth.schemas import Scope
from central_logger.db.migrate import alembic_config
from central_logger.http.state import AppState
from tests.support.api import create_key, run_cli, wait_until
from tests.support.factories import a_log
from tests.support.tenants import TENANT_A_KEY, auth


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
    async def refused() -> bool:
        return (await client.get("/api/v1/logs", headers=auth(key))).status_code == 401

    await wait_until(refused, "the revoked key is refused")

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


async def test_cli_refuses_the_admin_scope_on_a_tenant_key(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    # It used to store a key listed as a tenant's (is_admin false) that acted as a
    # full admin: reading and managing every tenant.
    code, out, err = await run_cli(
        empty_database, "keys", "create", "--client-id", "tenant_x", "--scopes", "ingest,admin"
    )
    assert code != 0
    assert "--scopes" in err
    assert "--admin" in err
    assert not out.strip().startswith("cl_")
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)

    # Asked for explicitly, it is a provider key, and listed as one.
    admin = await create_key(
        empty_database, "--client-id", "tenant_x", "--scopes", "ingest,admin", "--admin"
    )
    me = (await client.get("/api/v1/me", headers=auth(admin))).json()
    assert me["is_admin"] is True
    code, listing, _ = await run_cli(empty_database, "keys", "list")
    assert code == 0
    (line,) = [row for row in listing.splitlines() if row.startswith(admin[:11])]
    assert line.split()[1] == "admin"
    assert "admin" in line.split()[3].split(",")


@pytest.fixture
def old_schema_database(empty_database: str) -> Iterator[str]:
    """The suite's database taken back to before admin-ness had one source of truth."""
    config = alembic_config(empty_database)
    command.downgrade(config, "20261128_dimension_counts")
    try:
        yield empty_database
    finally:
        command.upgrade(config, "head")


def test_migration_lists_existing_keys_by_what_they_can_do(old_schema_database: str) -> None:
    rows = {
        # What `keys create --client-id tenant_x --scopes ingest,admin` used to store.
        "cl_0000000a": (["ingest", "admin"], False),
        # Hand-made: marked admin, but authentication (which reads scopes) saw a tenant.
        "cl_0000000b": (["ingest", "read"], True),
        "cl_0000000c": (["ingest", "read", "admin"], True),
        "cl_0000000d": (["ingest", "read"], False),
    }
    with psycopg.connect(old_schema_database, autocommit=True) as conn:
        for prefix, (scopes, is_admin) in rows.items():
            conn.execute(
                "INSERT INTO api_keys (prefix, key_hash, client_id, scopes, is_admin)"
                " VALUES (%s, %s, 'tenant_x', %s, %s)",
                (prefix, prefix.encode(), scopes, is_admin),
            )
    command.upgrade(alembic_config(old_schema_database), "head")
    with psycopg.connect(old_schema_database, autocommit=True) as conn:
        listed = dict(conn.execute("SELECT prefix, is_admin FROM api_keys").fetchall())
        scopes_after = dict(conn.execute("SELECT prefix, scopes FROM api_keys").fetchall())
        # Nothing can make them disagree again.
        with pytest.raises(psycopg.errors.GeneratedAlways):
            conn.execute("UPDATE api_keys SET is_admin = false WHERE prefix = 'cl_0000000c'")
    assert listed == {
        "cl_0000000a": True,
        "cl_0000000b": False,
        "cl_0000000c": True,
        "cl_0000000d": False,
    }
    # Powers are unchanged: the scopes are what authentication has always read.
    assert scopes_after == {prefix: scopes for prefix, (scopes, _) in rows.items()}


async def test_authentication_and_inventory_read_the_same_source(
    app: FastAPI, client: httpx.AsyncClient, empty_database: str
) -> None:
    state: AppState = app.state.central_logger
    key = await create_key(empty_database, "--client-id", "tenant_x", "--admin")
    # A row written with the admin scope by hand, bypassing create_key's rule.
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(
            "UPDATE api_keys SET scopes = ARRAY['ingest', 'admin'] WHERE prefix = %s",
            (key[:11],),
        )
    state.key_store.forget()
    me = (await client.get("/api/v1/me", headers=auth(key))).json()
    async with state.engine.connect() as conn:
        (info,) = await keys_service.list_keys(conn, client_id="tenant_x")
    assert me["is_admin"] is True
    assert info.is_admin is True
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(
            "UPDATE api_keys SET scopes = ARRAY['ingest', 'read'] WHERE prefix = %s",
            (key[:11],),
        )
    state.key_store.forget()
    me = (await client.get("/api/v1/me", headers=auth(key))).json()
    async with state.engine.connect() as conn:
        (info,) = await keys_service.list_keys(conn, client_id="tenant_x")
    assert me["is_admin"] is False
    assert info.is_admin is False


@pytest.mark.parametrize(
    "settings_overrides", [{"key_cache_ttl_seconds": 60, "key_miss_reload_seconds": 30}]
)
async def test_a_flood_of_distinct_bad_keys_costs_no_lookups_and_evicts_no_key(
    app: FastAPI, client: httpx.AsyncClient, empty_database: str
) -> None:
    state: AppState = app.state.central_logger
    valid = await create_key(empty_database, "--client-id", "c_flood")
    # The first use loads the key store's copy of the stored keys: one query.
    assert (await client.get("/api/v1/logs", headers=auth(valid))).status_code == 200
    key_lookups: list[str] = []

    def count_key_lookups(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "api_keys" in statement:
            key_lookups.append(statement)

    event.listen(state.engine.sync_engine, "before_cursor_execute", count_key_lookups)
    try:
        for i in range(1000):
            # In our format (each might be a key made since the load) and not.
            forged, _ = generate_key()
            assert await state.key_store.authenticate(forged) is None
            assert await state.key_store.authenticate(f"garbage-{i}") is None
            if i % 100 == 0:
                assert await state.key_store.authenticate(valid) is not None
        for _ in range(20):
            forged, _ = generate_key()
            response = await client.get("/api/v1/logs", headers=auth(forged))
            assert response.status_code == 401
        assert (await client.get("/api/v1/logs", headers=auth(valid))).status_code == 200
    finally:
        event.remove(state.engine.sync_engine, "before_cursor_execute", count_key_lookups)
    # Before: one lookup per distinct bad key (2,020 here), each cached in the structure
    # that also held the valid keys, so a big enough flood evicted them.
    assert key_lookups == []


@pytest.mark.parametrize(
    "settings_overrides", [{"key_cache_ttl_seconds": 60, "key_miss_reload_seconds": 0.2}]
)
async def test_a_key_made_by_another_process_works_within_the_miss_reload_interval(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    first = await create_key(empty_database, "--client-id", "c_new")
    assert (await client.get("/api/v1/logs", headers=auth(first))).status_code == 200
    second = await create_key(empty_database, "--client-id", "c_new")

    # Not the 60 s TTL: an unknown key in our format reloads the copy (at most every 0.2 s).
    async def accepted() -> bool:
        return (await client.get("/api/v1/logs", headers=auth(second))).status_code == 200

    await wait_until(accepted, "the new key works well before the 60 s TTL")

"""The admin key API (create, list, revoke, rotate with overlap), the CLI's rotate, and
how fast a revocation reaches another process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager

from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.api import create_key, run_cli, wait_until
from tests.support.factories import a_log
from tests.support.tenants import ADMIN_KEY, TENANT_A_KEY, auth

ADMIN = auth(ADMIN_KEY)


async def _make(client: httpx.AsyncClient, **spec: object) -> dict[str, object]:
    response = await client.post(
        "/api/v1/admin/keys", json={"client_id": "acme", **spec}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_create_list_revoke(client: httpx.AsyncClient, empty_database: str) -> None:
    made = await _make(client, name="ci", scopes=["ingest"])
    key, prefix = str(made["key"]), str(made["prefix"])
    assert made["scopes"] == ["ingest"]
    assert (await client.post("/api/v1/logs", json=a_log(), headers=auth(key))).status_code == 201
    assert (await client.get("/api/v1/logs", headers=auth(key))).status_code == 403

    listing = await client.get("/api/v1/admin/keys?client_id=acme", headers=ADMIN)
    assert listing.status_code == 200
    assert [k["prefix"] for k in listing.json()["items"]] == [prefix]
    assert key not in listing.text

    revoked = await client.delete(f"/api/v1/admin/keys/{prefix}", headers=ADMIN)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    # This process forgets its cached lookups at once.
    assert (await client.post("/api/v1/logs", json=a_log(), headers=auth(key))).status_code == 401
    again = await client.delete(f"/api/v1/admin/keys/{prefix}", headers=ADMIN)
    assert again.status_code == 404
    malformed = await client.delete("/api/v1/admin/keys/not-a-prefix", headers=ADMIN)
    assert malformed.status_code == 422


async def test_admin_api_needs_an_admin_key(client: httpx.AsyncClient) -> None:
    tenant = auth(TENANT_A_KEY)
    assert (await client.get("/api/v1/admin/keys", headers=tenant)).status_code == 403
    assert (
        await client.post("/api/v1/admin/keys", json={"client_id": "x"}, headers=tenant)
    ).status_code == 403
    assert (await client.get("/api/v1/admin/keys")).status_code == 401


async def test_rotate_with_overlap(client: httpx.AsyncClient) -> None:
    old = await _make(client)
    old_key = str(old["key"])
    rotated = await client.post(
        f"/api/v1/admin/keys/{old['prefix']}/rotate", json={"overlap_seconds": 3}, headers=ADMIN
    )
    assert rotated.status_code == 201, rotated.text
    new_key = rotated.json()["new"]["key"]
    assert rotated.json()["new"]["client_id"] == "acme"
    assert rotated.json()["new"]["scopes"] == old["scopes"]
    # During the overlap both work, for the same tenant.
    for key in (old_key, new_key):
        page = await client.get("/api/v1/logs", headers=auth(key))
        assert page.status_code == 200

    # After the overlap (3 s) and the tests' key cache TTL, the old key is refused.
    async def old_refused() -> bool:
        return (await client.get("/api/v1/logs", headers=auth(old_key))).status_code == 401

    await wait_until(old_refused, "the old key is refused after the overlap")
    assert (await client.get("/api/v1/logs", headers=auth(new_key))).status_code == 200
    # A retired key cannot be rotated again.
    retired = await client.post(f"/api/v1/admin/keys/{old['prefix']}/rotate", headers=ADMIN)
    assert retired.status_code == 404


async def test_cli_rotate(client: httpx.AsyncClient, empty_database: str) -> None:
    key = await create_key(empty_database, "--client-id", "cli_rot")
    code, out, err = await run_cli(empty_database, "keys", "rotate", key[:11], "--overlap", "24h")
    assert code == 0, err
    new_key = out.strip()
    assert new_key.startswith("cl_")
    assert new_key != key
    with psycopg.connect(empty_database) as conn:
        row = conn.execute(
            "SELECT expires_at FROM api_keys WHERE prefix = %s", (key[:11],)
        ).fetchone()
    assert row is not None
    assert abs(row[0] - (datetime.now(UTC) + timedelta(hours=24))) < timedelta(minutes=1)
    for k in (key, new_key):
        assert (await client.get("/api/v1/logs", headers=auth(k))).status_code == 200
    code, _, err = await run_cli(empty_database, "keys", "rotate", key[:11], "--overlap", "soon")
    assert code != 0


@pytest.fixture
async def other_process(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app with its own key cache, as another worker process would have."""
    app = create_app(Settings(_env_file=None, **settings.model_dump()), migrate=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as http:
            yield http


async def test_revocation_reaches_another_process_within_the_ttl(
    client: httpx.AsyncClient, other_process: httpx.AsyncClient, settings: Settings
) -> None:
    made = await _make(client)
    key = str(made["key"])
    assert (await other_process.get("/api/v1/logs", headers=auth(key))).status_code == 200
    revoked_at = time.monotonic()
    assert (
        await client.delete(f"/api/v1/admin/keys/{made['prefix']}", headers=ADMIN)
    ).status_code == 200
    while (await other_process.get("/api/v1/logs", headers=auth(key))).status_code == 200:
        assert time.monotonic() - revoked_at < settings.key_cache_ttl_seconds + 1.0
        await asyncio.sleep(0.02)
    elapsed = time.monotonic() - revoked_at
    print(
        f"\nrevocation seen by another process after {elapsed:.2f} s "
        f"(KEY_CACHE_TTL_SECONDS={settings.key_cache_ttl_seconds})"
    )
    assert elapsed <= settings.key_cache_ttl_seconds + 0.5


async def test_admin_scope_needs_is_admin_and_the_inventory_shows_it(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    # It used to store a key listed as is_admin: false that acted as a full admin.
    refused = await client.post(
        "/api/v1/admin/keys",
        json={"client_id": "tenant_x", "scopes": ["admin"]},
        headers=ADMIN,
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    (error,) = refused.json()["errors"]
    assert error["field"] == "body.scopes"
    assert "is_admin" in error["reason"]
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT count(*) FROM api_keys").fetchone() == (0,)

    provider = await _make(client, client_id="tenant_x", scopes=["admin"], is_admin=True)
    assert provider["is_admin"] is True
    assert set(provider["scopes"]) == {"admin", "read"}  # type: ignore[arg-type]
    tenant = await _make(client, client_id="tenant_x")
    assert tenant["is_admin"] is False
    me = (await client.get("/api/v1/me", headers=auth(str(provider["key"])))).json()
    assert me["is_admin"] is True

    listing = (await client.get("/api/v1/admin/keys?client_id=tenant_x", headers=ADMIN)).json()
    by_prefix = {k["prefix"]: k for k in listing["items"]}
    assert by_prefix[provider["prefix"]]["is_admin"] is True
    assert by_prefix[tenant["prefix"]]["is_admin"] is False
    # Admin-ness is the admin scope, in every row of the inventory.
    for key in listing["items"]:
        assert key["is_admin"] is ("admin" in key["scopes"])


async def test_a_key_made_here_works_at_once_after_the_store_was_loaded(
    client: httpx.AsyncClient,
) -> None:
    first = await _make(client)
    assert (await client.get("/api/v1/logs", headers=auth(str(first["key"])))).status_code == 200
    second = await _make(client)  # within KEY_MISS_RELOAD_SECONDS of the load above
    assert (await client.get("/api/v1/logs", headers=auth(str(second["key"])))).status_code == 200

"""The audit trail: failed authentications aggregated so a flood stays bounded, key
changes, admin cross-tenant reads; readable by admins (API and CLI)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from central_logger.http.state import AppState
from tests.support.api import run_cli
from tests.support.factories import a_log
from tests.support.tenants import ADMIN_KEY, TENANT_A_KEY, auth

ADMIN = auth(ADMIN_KEY)


def _state(app: FastAPI) -> AppState:
    state: AppState = app.state.central_logger
    return state


async def _events(client: httpx.AsyncClient, kind: str) -> list[dict[str, object]]:
    response = await client.get(f"/api/v1/admin/audit?kind={kind}&limit=1000", headers=ADMIN)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


@pytest.mark.parametrize("settings_overrides", [{"audit_max_buckets": 20}])
async def test_a_flood_of_bad_keys_is_counted_in_bounded_rows(
    app: FastAPI, client: httpx.AsyncClient, empty_database: str
) -> None:
    # One minute for the whole flood: across a minute boundary, key 0's second failure
    # would open a new bucket, which the full table sends to the overflow row.
    minute = datetime.now(UTC).replace(second=30)
    _state(app).audit.clock = lambda: minute
    keys = [f"cl_{i:08x}_secret-part-{i}" for i in range(300)]
    for i in range(600):
        response = await client.get("/api/v1/logs", headers=auth(keys[i % 300]))
        assert response.status_code == 401
    await client.get("/api/v1/logs")  # no key at all
    # Nothing is written per request: the flood is a dictionary until the flush.
    with psycopg.connect(empty_database) as conn:
        assert conn.execute("SELECT count(*) FROM audit_events").fetchone() == (0,)
    assert _state(app).audit.pending <= 21  # the bucket limit, plus the overflow row
    await _state(app).audit.flush()

    events = await _events(client, "auth_failed")
    assert len(events) <= 21  # the bucket limit, plus one overflow row
    assert sum(int(str(e["count"])) for e in events) == 601
    assert any(e["actor"] == "*overflow*" for e in events)
    assert any(e["actor"] == "cl_00000000" and e["count"] == 2 for e in events)
    with psycopg.connect(empty_database) as conn:
        dump = str(conn.execute("SELECT * FROM audit_events").fetchall())
    assert "secret-part" not in dump
    assert {e["remote_addr"] for e in events if e["actor"] != "*overflow*"} == {"127.0.0.1"}


async def test_key_changes_are_audited_with_the_actor(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    made = await client.post("/api/v1/admin/keys", json={"client_id": "acme"}, headers=ADMIN)
    prefix = made.json()["prefix"]
    rotated = await client.post(f"/api/v1/admin/keys/{prefix}/rotate", headers=ADMIN)
    successor = rotated.json()["new"]["prefix"]
    await client.delete(f"/api/v1/admin/keys/{successor}", headers=ADMIN)

    admin_prefix = (await client.get("/api/v1/me", headers=ADMIN)).json()["key_prefix"]
    created = await _events(client, "key_created")
    assert {e["detail"]["prefix"] for e in created} == {prefix, successor}  # type: ignore[index]
    assert {e["actor"] for e in created} == {admin_prefix}
    (rotation,) = await _events(client, "key_rotated")
    assert rotation["detail"]["successor"] == successor  # type: ignore[index]
    assert rotation["detail"]["overlap_seconds"] == 86_400  # type: ignore[index]
    (revocation,) = await _events(client, "key_revoked")
    assert revocation["client_id"] == "acme"
    assert made.json()["key"] not in str(await _events(client, "key_created"))

    code, out, _ = await run_cli(empty_database, "audit", "list", "--kind", "key_rotated")
    assert code == 0
    assert "key_rotated" in out
    assert successor in out


async def test_admin_cross_tenant_reads_are_audited(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await client.post("/api/v1/logs", json=a_log(), headers=auth(TENANT_A_KEY))
    await client.get("/api/v1/logs", headers=auth(TENANT_A_KEY))  # a tenant's own read
    await client.get("/api/v1/logs", headers=ADMIN)
    await client.get("/api/v1/logs?client_id=tenant_a", headers=ADMIN)
    await client.get("/api/v1/logs?client_id=tenant_a", headers=ADMIN)
    await client.get("/api/v1/metrics/overview", headers=ADMIN)
    await _state(app).audit.flush()
    reads = await _events(client, "admin_read")
    by_target = {(e["client_id"], e["detail"]["path"]): e["count"] for e in reads}  # type: ignore[index]
    assert by_target[(None, "/api/v1/logs")] == 1
    assert by_target[("tenant_a", "/api/v1/logs")] == 2
    assert by_target[(None, "/api/v1/metrics/overview")] == 1


async def test_audit_is_for_admins_only(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/admin/audit", headers=auth(TENANT_A_KEY))
    assert response.status_code == 403


async def _fail_from(app: FastAPI, address: str, keys: list[str]) -> None:
    transport = httpx.ASGITransport(app=app, client=(address, 40_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for key in keys:
            assert (await http.get("/api/v1/logs", headers=auth(key))).status_code == 401


async def test_an_attacker_behind_noisy_prefixes_keeps_its_address(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    state = _state(app)
    minute = datetime.now(UTC).replace(second=30)
    state.audit.clock = lambda: minute
    # 150 distinct prefixes from one noisy address take every one of the 100 buckets...
    await _fail_from(app, "10.0.0.1", [f"cl_{i:08x}_noise" for i in range(150)])
    # ...then a real attacker elsewhere tries its keys, within the same flush.
    attacker = [f"cl_a77ac{i:03x}_guess" for i in range(4)]
    await _fail_from(app, "203.0.113.9", attacker * 10)
    await state.audit.flush()

    events = await _events(client, "auth_failed")
    assert len(events) <= 2 * state.settings.audit_max_buckets + 2
    assert sum(int(str(e["count"])) for e in events) == 190
    # Before, its 40 failures were folded into one overflow row with no address.
    (seen,) = [e for e in events if e["remote_addr"] == "203.0.113.9"]
    assert seen["count"] == 40
    assert seen["actor"] == "*overflow*"
    assert sorted(seen["detail"]["sample_actors"]) == [k[:11] for k in attacker]  # type: ignore[index]
    noisy_overflow = [
        e for e in events if e["remote_addr"] == "10.0.0.1" and e["actor"] == "*overflow*"
    ]
    assert [e["count"] for e in noisy_overflow] == [50]


@pytest.mark.parametrize("settings_overrides", [{"audit_max_buckets": 5}])
async def test_the_busiest_addresses_keep_their_rows_when_addresses_churn(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    audit = _state(app).audit
    for i in range(5):
        audit.auth_failed(key_prefix=f"cl_{i:08x}", remote_addr="10.0.0.1")
    # 300 one-off addresses (say, an IPv6 range) around an attacker who keeps trying.
    for i in range(300):
        audit.auth_failed(key_prefix=f"cl_{i:08x}", remote_addr=f"2001:db8::{i:x}")
        if i % 3 == 0:
            audit.auth_failed(key_prefix="cl_a77ac000", remote_addr="203.0.113.9")
    assert audit.pending <= 5 + 5 + 1
    await audit.flush()
    events = await _events(client, "auth_failed")
    assert sum(int(str(e["count"])) for e in events) == 5 + 300 + 100
    by_address = {e["remote_addr"]: e for e in events if e["actor"] == "*overflow*"}
    assert by_address["203.0.113.9"]["count"] == 100
    assert by_address[None]["count"] >= 300 - 4  # the one-offs, folded without an address

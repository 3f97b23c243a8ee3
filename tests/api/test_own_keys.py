"""GET /api/v1/keys: a tenant reads its own keys (never another tenant's, never a key),
and the audit trail's actor and client filters."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from central_logger.http.state import AppState
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth

ADMIN = auth(ADMIN_KEY)


async def _make(client: httpx.AsyncClient, client_id: str, **spec: object) -> dict[str, object]:
    response = await client.post(
        "/api/v1/admin/keys", json={"client_id": client_id, **spec}, headers=ADMIN
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_a_tenant_lists_only_its_own_keys(client: httpx.AsyncClient) -> None:
    a1 = await _make(client, TENANT_A, name="a-ingest", scopes=["ingest"])
    a2 = await _make(client, TENANT_A, name="a-both")
    b1 = await _make(client, TENANT_B, name="b-only")

    mine = await client.get("/api/v1/keys", headers=auth(TENANT_A_KEY))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["client_id"] == TENANT_A
    assert {k["prefix"] for k in body["items"]} == {a1["prefix"], a2["prefix"]}
    assert {k["client_id"] for k in body["items"]} == {TENANT_A}
    assert b1["prefix"] not in mine.text
    for made in (a1, a2, b1):
        assert str(made["key"]) not in mine.text
    scopes = {k["name"]: k["scopes"] for k in body["items"]}
    assert scopes == {"a-ingest": ["ingest"], "a-both": ["ingest", "read"]}

    theirs = await client.get("/api/v1/keys", headers=auth(TENANT_B_KEY))
    assert [k["prefix"] for k in theirs.json()["items"]] == [b1["prefix"]]

    # A stored key of tenant A sees the same list, with its own last use recorded.
    used = await client.get("/api/v1/keys", headers=auth(str(a2["key"])))
    assert {k["prefix"] for k in used.json()["items"]} == {a1["prefix"], a2["prefix"]}


async def test_own_keys_need_the_read_scope(client: httpx.AsyncClient) -> None:
    ingest_only = await _make(client, TENANT_A, scopes=["ingest"])
    response = await client.get("/api/v1/keys", headers=auth(str(ingest_only["key"])))
    assert response.status_code == 403
    assert "read" in response.json()["detail"]
    assert (await client.get("/api/v1/keys")).status_code == 401


async def test_audit_filters_by_actor_and_client(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _make(client, TENANT_A)
    await _make(client, TENANT_B)
    state: AppState = app.state.central_logger
    await state.audit.flush()
    me = (await client.get("/api/v1/me", headers=ADMIN)).json()

    def kinds_and_clients(response: httpx.Response) -> set[tuple[str, str | None]]:
        assert response.status_code == 200, response.text
        return {(e["kind"], e["client_id"]) for e in response.json()["items"]}

    only_b = await client.get(
        "/api/v1/admin/audit", params={"kind": "key_created", "client_id": TENANT_B}, headers=ADMIN
    )
    assert kinds_and_clients(only_b) == {("key_created", TENANT_B)}
    by_me = await client.get(
        "/api/v1/admin/audit",
        params={"kind": "key_created", "actor": me["key_prefix"]},
        headers=ADMIN,
    )
    assert kinds_and_clients(by_me) == {("key_created", TENANT_A), ("key_created", TENANT_B)}
    nobody = await client.get("/api/v1/admin/audit", params={"actor": "cl_00000000"}, headers=ADMIN)
    assert kinds_and_clients(nobody) == set()
    bad = await client.get("/api/v1/admin/audit", params={"actor": ""}, headers=ADMIN)
    assert bad.status_code == 422
    assert "actor" in bad.text

"""The admin's detail view is unambiguous when two tenants use the same log id: ids are
the clients' own, so a tenant that knows another's id must not shadow that log."""

from __future__ import annotations

import uuid

import httpx

from tests.support.factories import a_log
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth

ADMIN = auth(ADMIN_KEY)


async def _ingest(client: httpx.AsyncClient, key: str, log_id: str, ticket: str) -> None:
    response = await client.post(
        "/api/v1/logs", json=a_log(id=log_id, ticket_id=ticket), headers=auth(key)
    )
    assert response.status_code == 201, response.text


async def test_a_shared_id_asks_the_admin_to_choose_a_client(client: httpx.AsyncClient) -> None:
    shared = str(uuid.uuid4())
    # tenant_b's copy is the impostor: before, the admin's view showed whichever
    # client_id sorted first.
    await _ingest(client, TENANT_B_KEY, shared, "B-shadow")
    await _ingest(client, TENANT_A_KEY, shared, "A-real")

    ambiguous = await client.get(f"/api/v1/logs/{shared}", headers=ADMIN)
    assert ambiguous.status_code == 409, ambiguous.text
    assert ambiguous.headers["content-type"].startswith("application/problem+json")
    problem = ambiguous.json()
    assert TENANT_A in problem["detail"]
    assert TENANT_B in problem["detail"]
    assert "client_id" in problem["detail"]
    (error,) = problem["errors"]
    assert error["field"] == "query.client_id"
    assert TENANT_A in error["reason"]
    assert TENANT_B in error["reason"]

    for client_id, ticket in ((TENANT_A, "A-real"), (TENANT_B, "B-shadow")):
        chosen = await client.get(f"/api/v1/logs/{shared}?client_id={client_id}", headers=ADMIN)
        assert chosen.status_code == 200, chosen.text
        assert chosen.json()["client_id"] == client_id
        assert chosen.json()["ticket_id"] == ticket

    # Tenants see only their own copy, and never learn the id is shared.
    for key, client_id, ticket in (
        (TENANT_A_KEY, TENANT_A, "A-real"),
        (TENANT_B_KEY, TENANT_B, "B-shadow"),
    ):
        own = await client.get(f"/api/v1/logs/{shared}", headers=auth(key))
        assert own.status_code == 200
        assert (own.json()["client_id"], own.json()["ticket_id"]) == (client_id, ticket)


async def test_an_id_one_client_uses_needs_no_client_id(client: httpx.AsyncClient) -> None:
    only_a = str(uuid.uuid4())
    await _ingest(client, TENANT_A_KEY, only_a, "A-only")
    found = await client.get(f"/api/v1/logs/{only_a}", headers=ADMIN)
    assert found.status_code == 200
    assert found.json()["client_id"] == TENANT_A
    assert (
        await client.get(f"/api/v1/logs/{only_a}", headers=auth(TENANT_B_KEY))
    ).status_code == 404
    nobody = await client.get(f"/api/v1/logs/{uuid.uuid4()}", headers=ADMIN)
    assert nobody.status_code == 404
    wrong_client = await client.get(f"/api/v1/logs/{only_a}?client_id={TENANT_B}", headers=ADMIN)
    assert wrong_client.status_code == 404

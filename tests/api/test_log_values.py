"""GET /api/v1/logs/values: the label values a tenant's logs use, for the dashboard's
pick-lists (issue 14); kept by a trigger on every insert; tenant-isolated."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support.factories import a_log
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B_KEY, auth

# workflow_log_values is not emptied between tests: each test uses values of its own.


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


async def ship(client: httpx.AsyncClient, logs: list[dict[str, Any]], key: str) -> None:
    response = await client.post("/api/v1/logs/batch", json=logs, headers=auth(key))
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 0


async def values(client: httpx.AsyncClient, key: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/logs/values", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_every_label_lists_the_values_in_use(client: httpx.AsyncClient) -> None:
    env, category, version, resolution = (unique(x) for x in ("env", "cat", "v", "res"))
    await ship(
        client,
        [
            a_log(
                environment=env,
                category=category,
                workflow_version=version,
                resolution_status=resolution,
                status="FAILED",
            ),
            a_log(environment=env, category=None, workflow_version=None, status="SUCCESS"),
        ],
        TENANT_A_KEY,
    )
    # One more statement with a value already known and a new one.
    other = unique("env")
    await ship(client, [a_log(environment=env), a_log(environment=other)], TENANT_A_KEY)
    environments = await values(client, TENANT_A_KEY, field="environment")
    assert environments["field"] == "environment"
    assert {env, other} <= set(environments["values"])
    assert environments["values"] == sorted(environments["values"])
    assert environments["complete"] is True
    assert category in (await values(client, TENANT_A_KEY, field="category"))["values"]
    assert {"FAILED", "SUCCESS"} <= set(
        (await values(client, TENANT_A_KEY, field="status"))["values"]
    )
    assert version in (await values(client, TENANT_A_KEY, field="workflow_version"))["values"]
    listed = await values(client, TENANT_A_KEY, field="resolution_status")
    assert resolution in listed["values"]


async def test_another_tenants_values_are_invisible(client: httpx.AsyncClient) -> None:
    mine, theirs = unique("mine"), unique("theirs")
    await ship(client, [a_log(category=mine)], TENANT_A_KEY)
    await ship(client, [a_log(category=theirs)], TENANT_B_KEY)
    a_sees = (await values(client, TENANT_A_KEY, field="category"))["values"]
    assert mine in a_sees
    assert theirs not in a_sees
    admin_sees = (await values(client, ADMIN_KEY, field="category"))["values"]
    assert {mine, theirs} <= set(admin_sees)
    one = (await values(client, ADMIN_KEY, field="category", client_id=TENANT_A))["values"]
    assert mine in one
    assert theirs not in one
    # A tenant key cannot ask for another tenant.
    response = await client.get(
        "/api/v1/logs/values",
        params={"field": "category", "client_id": "tenant_b"},
        headers=auth(TENANT_A_KEY),
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "query.field"),
        ({"field": "payload"}, "query.field"),
        ({"field": "status", "x": 1}, "query.x"),
    ],
    ids=["missing", "not-a-label", "unknown-parameter"],
)
async def test_bad_field_is_a_422_naming_it(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/api/v1/logs/values", params=params, headers=auth(TENANT_A_KEY))
    assert response.status_code == 422, response.text
    assert any(e["field"] == field for e in response.json()["errors"]), response.text


async def test_an_id_route_still_takes_ids(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/logs/{uuid.uuid4()}", headers=auth(TENANT_A_KEY))
    assert response.status_code == 404

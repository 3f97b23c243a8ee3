"""POST /api/v1/logs/batch: partial acceptance, duplicates, limits."""

from __future__ import annotations

import gzip

import httpx
import orjson
import pytest

from tests.support.api import row_count
from tests.support.factories import a_log, with_id
from tests.support.tenants import TENANT_A_KEY, auth


async def test_valid_items_are_stored_and_bad_ones_reported(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    stored_before = with_id()
    assert (
        await client.post("/api/v1/logs", json=stored_before, headers=auth(TENANT_A_KEY))
    ).status_code == 201
    items = [
        a_log(ticket_id="T-0"),
        a_log(status=...),
        stored_before,
        a_log(executed_at="2026-01-01T00:00:00"),
        a_log(payload={"x": "\u0000"}),
        a_log(ticket_id="T-5"),
    ]
    response = await client.post(
        "/api/v1/logs/batch", json={"logs": items}, headers=auth(TENANT_A_KEY)
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (2, 1, 3)
    outcomes = [item["outcome"] for item in result["items"]]
    assert outcomes == ["accepted", "rejected", "duplicate", "rejected", "rejected", "accepted"]
    assert [item["index"] for item in result["items"]] == list(range(6))
    assert result["items"][1]["errors"] == [{"field": "status", "reason": "Field required"}]
    assert result["items"][3]["errors"][0]["field"] == "executed_at"
    assert result["items"][4]["errors"][0]["field"] == "payload.x"
    assert result["items"][2]["id"] == stored_before["id"]
    assert result["items"][1]["id"] is None
    assert row_count(empty_database) == 3

    for accepted in (result["items"][0], result["items"][5]):
        detail = await client.get(f"/api/v1/logs/{accepted['id']}", headers=auth(TENANT_A_KEY))
        assert detail.status_code == 200


async def test_bare_array_and_gzip(client: httpx.AsyncClient, empty_database: str) -> None:
    logs = [a_log(ticket_id="GZ-1"), a_log(ticket_id="GZ-2")]
    response = await client.post(
        "/api/v1/logs/batch",
        content=gzip.compress(orjson.dumps(logs)),
        headers={
            **auth(TENANT_A_KEY),
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 2
    assert row_count(empty_database) == 2
    for item, log in zip(response.json()["items"], logs, strict=True):
        detail = await client.get(f"/api/v1/logs/{item['id']}", headers=auth(TENANT_A_KEY))
        assert detail.json()["ticket_id"] == log["ticket_id"]


async def test_same_id_twice_in_one_batch(client: httpx.AsyncClient, empty_database: str) -> None:
    log = with_id()
    response = await client.post("/api/v1/logs/batch", json=[log, log], headers=auth(TENANT_A_KEY))
    assert [i["outcome"] for i in response.json()["items"]] == ["accepted", "duplicate"]
    assert row_count(empty_database) == 1


async def test_replayed_batch_stores_nothing_new(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    logs = [with_id() for _ in range(20)]
    first = (await client.post("/api/v1/logs/batch", json=logs, headers=auth(TENANT_A_KEY))).json()
    again = (await client.post("/api/v1/logs/batch", json=logs, headers=auth(TENANT_A_KEY))).json()
    assert (first["accepted"], again["accepted"], again["duplicates"]) == (20, 0, 20)
    assert row_count(empty_database) == 20


async def test_empty_batch(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/logs/batch", json={"logs": []}, headers=auth(TENANT_A_KEY)
    )
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicates": 0, "rejected": 0, "items": []}


@pytest.mark.parametrize("settings_overrides", [{"max_batch_size": 5}])
async def test_too_many_items_is_413(client: httpx.AsyncClient, empty_database: str) -> None:
    response = await client.post(
        "/api/v1/logs/batch", json={"logs": [a_log() for _ in range(6)]}, headers=auth(TENANT_A_KEY)
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "logs"
    assert row_count(empty_database) == 0
    exactly = await client.post(
        "/api/v1/logs/batch", json={"logs": [a_log() for _ in range(5)]}, headers=auth(TENANT_A_KEY)
    )
    assert exactly.status_code == 200, exactly.text
    assert exactly.json()["accepted"] == 5
    assert row_count(empty_database) == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"logs": "x"}, "logs"),
        ({"entries": []}, "entries"),
        ({"logs": [], "client_id": "b"}, "client_id"),
        ("just text", "body"),
        (42, "body"),
    ],
    ids=["logs-not-array", "wrong-key", "client_id", "string", "number"],
)
async def test_malformed_batch_is_422(client: httpx.AsyncClient, body: object, field: str) -> None:
    response = await client.post("/api/v1/logs/batch", json=body, headers=auth(TENANT_A_KEY))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


async def test_item_that_is_not_an_object_is_rejected_alone(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    response = await client.post(
        "/api/v1/logs/batch", json=[a_log(), "x", None], headers=auth(TENANT_A_KEY)
    )
    result = response.json()
    assert (result["accepted"], result["rejected"]) == (1, 2)
    assert [i["outcome"] for i in result["items"]] == ["accepted", "rejected", "rejected"]
    assert row_count(empty_database) == 1

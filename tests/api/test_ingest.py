"""POST /api/v1/logs: validation, normalisation, idempotency, and every bad input class."""

from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from tests.support.api import row_count
from tests.support.factories import a_log, with_id
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth


async def test_stores_and_normalises_status(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/logs", json=a_log(status=" failed "), headers=auth(TENANT_A_KEY)
    )
    assert response.status_code == 201
    body = response.json()
    assert body["duplicate"] is False
    detail = (await client.get(f"/api/v1/logs/{body['id']}", headers=auth(TENANT_A_KEY))).json()
    assert detail["status"] == "FAILED"
    assert detail["client_id"] == "tenant_a"
    assert detail["payload"] == a_log()["payload"]
    # Server-made ids are time-ordered UUIDv7.
    assert uuid.UUID(body["id"]).version == 7


async def test_only_required_fields(client: httpx.AsyncClient) -> None:
    minimal = {"environment": "dev", "executed_at": "2026-01-01T00:00:00+02:00", "status": "ok"}
    response = await client.post("/api/v1/logs", json=minimal, headers=auth(TENANT_A_KEY))
    assert response.status_code == 201
    detail = (
        await client.get(f"/api/v1/logs/{response.json()['id']}", headers=auth(TENANT_A_KEY))
    ).json()
    assert detail["executed_at"] == "2025-12-31T22:00:00Z"
    assert detail["metrics"] is None


async def test_replay_with_same_id_is_stored_once(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    log = with_id()
    first = await client.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY))
    second = await client.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY))
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"] == log["id"]
    assert second.json()["duplicate"] is True
    assert row_count(empty_database) == 1


async def test_same_id_from_another_tenant_is_its_own_log(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    log = with_id()
    assert (
        await client.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY))
    ).status_code == 201
    # Tenant B must not learn that tenant A used this id.
    assert (
        await client.post("/api/v1/logs", json=log, headers=auth(TENANT_B_KEY))
    ).status_code == 201
    assert row_count(empty_database) == 2


def _future(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


INVALID_LOGS = [
    pytest.param({"executed_at": ...}, "executed_at", "required", id="missing-executed_at"),
    pytest.param({"environment": ...}, "environment", "required", id="missing-environment"),
    pytest.param({"status": ...}, "status", "required", id="missing-status"),
    pytest.param(
        {"executed_at": "2026-01-01T10:00:00"}, "executed_at", "timezone", id="naive-time"
    ),
    pytest.param({"executed_at": "yesterday"}, "executed_at", "datetime", id="not-a-time"),
    pytest.param({"executed_at": _future(2)}, "executed_at", "future", id="far-future"),
    pytest.param(
        {"execution_time_seconds": -1}, "execution_time_seconds", "greater", id="negative-time"
    ),
    pytest.param(
        {"execution_time_seconds": "fast"}, "execution_time_seconds", "number", id="text-time"
    ),
    pytest.param({"client_id": "tenant_b"}, "client_id", "API key", id="client_id-in-body"),
    pytest.param({"colour": "red"}, "colour", "unknown field", id="unknown-field"),
    pytest.param({"metrics": [1, 2]}, "metrics", "dictionary", id="metrics-not-object"),
    pytest.param({"payload": "text"}, "payload", "dictionary", id="payload-not-object"),
    pytest.param({"id": "not-a-uuid"}, "id", "UUID", id="malformed-id"),
    pytest.param({"status": ""}, "status", "at least 1", id="empty-status"),
    pytest.param({"environment": "   "}, "environment", "at least 1", id="blank-environment"),
    pytest.param({"ticket_id": "T" * 256}, "ticket_id", "at most 255", id="ticket-too-long"),
    pytest.param({"status": 200}, "status", "string", id="status-number"),
    pytest.param({"payload": {"note": "a\u0000b"}}, "payload.note", "NUL", id="nul-in-payload"),
    pytest.param({"metrics": {"k\u0000": 1}}, "metrics.k\\u0000", "NUL", id="nul-in-key"),
    pytest.param({"ticket_id": "T\u00001"}, "ticket_id", "NUL", id="nul-in-column"),
]


@pytest.mark.parametrize(("overrides", "field", "reason_part"), INVALID_LOGS)
async def test_invalid_log_is_422_naming_the_field(
    client: httpx.AsyncClient,
    empty_database: str,
    overrides: dict[str, object],
    field: str,
    reason_part: str,
) -> None:
    response = await client.post(
        "/api/v1/logs", json=a_log(**overrides), headers=auth(TENANT_A_KEY)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    errors = {e["field"]: e["reason"] for e in problem["errors"]}
    assert field in errors, errors
    assert reason_part.lower() in errors[field].lower()
    assert row_count(empty_database) == 0


@pytest.mark.parametrize(
    ("content", "reason_part"),
    [
        (b'{"environment": "x",', "JSON"),
        (b'{"environment": NaN}', "JSON"),
        (b'{"a": 1e400}', "infinity"),
        (b'"\\ud800"', "surrogate"),
        (b'{"s": "\xff"}', "UTF-8"),
        (b"[" * 5000 + b"]" * 5000, "depth"),
        (b"   ", "empty"),
    ],
    ids=["truncated", "nan", "overflow", "lone-surrogate", "invalid-utf8", "deep", "blank"],
)
async def test_malformed_json_is_400(
    client: httpx.AsyncClient, content: bytes, reason_part: str
) -> None:
    response = await client.post(
        "/api/v1/logs",
        content=content,
        headers={**auth(TENANT_A_KEY), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == "body"
    assert reason_part.lower() in (problem["detail"] + problem["errors"][0]["reason"]).lower()


async def test_json_that_is_not_an_object_is_422(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    response = await client.post("/api/v1/logs", json=[1, 2], headers=auth(TENANT_A_KEY))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body"]
    assert row_count(empty_database) == 0


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/logs",
        content=orjson.dumps(a_log()),
        headers={**auth(TENANT_A_KEY), "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["field"] == "header.content-type"


async def test_missing_content_type_is_read_as_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/logs", content=orjson.dumps(a_log(ticket_id="NO-CT")), headers=auth(TENANT_A_KEY)
    )
    assert response.status_code == 201
    stored = await client.get(f"/api/v1/logs/{response.json()['id']}", headers=auth(TENANT_A_KEY))
    assert stored.json()["ticket_id"] == "NO-CT"


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 2048}])
async def test_body_over_limit_is_413(client: httpx.AsyncClient, empty_database: str) -> None:
    big = a_log(payload={"blob": "x" * 4096})
    response = await client.post("/api/v1/logs", json=big, headers=auth(TENANT_A_KEY))
    assert response.status_code == 413
    assert "2048" in response.json()["detail"]
    assert row_count(empty_database) == 0


async def test_gzip_body_is_accepted(client: httpx.AsyncClient) -> None:
    log = a_log(ticket_id="GZIP-1", metrics={"confidence": 0.5})
    response = await client.post(
        "/api/v1/logs",
        content=gzip.compress(orjson.dumps(log)),
        headers={
            **auth(TENANT_A_KEY),
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )
    assert response.status_code == 201
    stored = await client.get(f"/api/v1/logs/{response.json()['id']}", headers=auth(TENANT_A_KEY))
    assert (stored.json()["ticket_id"], stored.json()["metrics"]) == ("GZIP-1", {"confidence": 0.5})


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 100_000}])
async def test_gzip_bomb_is_413(client: httpx.AsyncClient) -> None:
    bomb = gzip.compress(b'{"a": "' + b"0" * 50_000_000 + b'"}')
    assert len(bomb) < 100_000
    response = await client.post(
        "/api/v1/logs",
        content=bomb,
        headers={
            **auth(TENANT_A_KEY),
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )
    assert response.status_code == 413
    assert "decompressed" in response.json()["detail"]


async def test_broken_gzip_is_400_and_unknown_encoding_415(client: httpx.AsyncClient) -> None:
    headers = {**auth(TENANT_A_KEY), "Content-Type": "application/json"}
    broken = await client.post(
        "/api/v1/logs", content=b"not gzip", headers={**headers, "Content-Encoding": "gzip"}
    )
    assert broken.status_code == 400
    brotli = await client.post(
        "/api/v1/logs", content=b"{}", headers={**headers, "Content-Encoding": "br"}
    )
    assert brotli.status_code == 415


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "nope"}, {"X-API-Key": ""}, {"Authorization": "Bearer nope"}],
    ids=["missing", "unknown", "empty", "unknown-bearer"],
)
async def test_bad_key_is_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post("/api/v1/logs", json=a_log(), headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "header.X-API-Key"


async def test_bearer_key_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/logs", json=a_log(), headers={"Authorization": f"Bearer {TENANT_A_KEY}"}
    )
    assert response.status_code == 201


@pytest.mark.parametrize("settings_overrides", [{"api_key_header": "X-Logger-Key"}])
async def test_configured_header_name(client: httpx.AsyncClient) -> None:
    assert (
        await client.post("/api/v1/logs", json=a_log(), headers=auth(TENANT_A_KEY))
    ).status_code == 401
    response = await client.post(
        "/api/v1/logs", json=a_log(), headers={"X-Logger-Key": TENANT_A_KEY}
    )
    assert response.status_code == 201


async def test_tenant_cannot_ingest_for_another_client(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/logs?client_id=tenant_b", json=a_log(), headers=auth(TENANT_A_KEY)
    )
    assert response.status_code == 403

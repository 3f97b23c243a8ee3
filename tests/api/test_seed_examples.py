"""The seed README's curl examples, verbatim bodies and parameters."""

from __future__ import annotations

import httpx
import orjson
import pytest

from central_logger.settings import Settings

SEED_BODY = """{
    "environment": "production",
    "executed_at": "2025-12-24T10:30:00Z",
    "ticket_id": "TICKET-123",
    "status": "SUCCESS",
    "execution_time_seconds": 5.2,
    "category": "billing_issue",
    "metrics": {"confidence": 0.95},
    "payload": {"trace": []}
  }"""


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"api_keys": {"test_key_123": "client_1"}}


async def test_seed_ingest_query_and_metrics(client: httpx.AsyncClient, settings: Settings) -> None:
    headers = {"X-API-Key": "test_key_123", "Content-Type": "application/json"}
    created = await client.post("/api/v1/logs", headers=headers, content=SEED_BODY)
    assert created.status_code == 201, created.text
    log_id = created.json()["id"]

    listed = await client.get(
        "/api/v1/logs?page=1&page_size=10", headers={"X-API-Key": "test_key_123"}
    )
    assert listed.status_code == 200
    page = listed.json()
    assert page["total"] == 1
    assert page["items"][0]["id"] == log_id
    assert page["items"][0]["client_id"] == "client_1"
    assert page["items"][0]["ticket_id"] == "TICKET-123"
    assert "payload" not in page["items"][0]

    detail = await client.get(f"/api/v1/logs/{log_id}", headers={"X-API-Key": "test_key_123"})
    assert detail.status_code == 200
    stored = detail.json()
    # Every field of the seed's body, stored as sent.
    assert {k: stored[k] for k in orjson.loads(SEED_BODY)} == {
        **orjson.loads(SEED_BODY),
        "executed_at": "2025-12-24T10:30:00Z",
    }
    assert (stored["id"], stored["client_id"]) == (log_id, "client_1")

    overview = await client.get(
        "/api/v1/metrics/overview?days=7", headers={"X-API-Key": "test_key_123"}
    )
    assert overview.status_code == 200
    # The seed's log is from 2025: outside the last 7 days.
    assert overview.json()["total_runs"] == 0

    categories = await client.get(
        "/api/v1/metrics/categories",
        params={"from": "2025-12-24T00:00:00Z", "to": "2025-12-25T00:00:00Z"},
        headers={"X-API-Key": "test_key_123"},
    )
    assert categories.status_code == 200
    assert [
        (c["category"], c["runs"], c["successful_runs"], c["avg_execution_time_seconds"])
        for c in categories.json()["categories"]
    ] == [("billing_issue", 1, 1, 5.2)]


async def test_health_needs_no_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


async def test_docs_served_in_development(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    operation_ids = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {"create_log", "create_log_batch", "list_logs", "get_log"} <= operation_ids


@pytest.mark.parametrize("settings_overrides", [{"environment": "production"}])
async def test_docs_hidden_in_production(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 404
    assert (await client.get("/openapi.json")).status_code == 404

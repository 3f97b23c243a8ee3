"""GET /metrics (token or off), what it counts, and the request id in headers and
problem documents; in the test's process (one worker). Several workers, the JSON logs
and HTTPS are in test_operating.py."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.api.scrape import value
from tests.support.factories import a_log, with_id
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth

TOKEN = "scrape-token-for-tests"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "metrics_token": TOKEN,
        "rate_limit_overrides": {"tenant_b": {"requests_burst": 2, "requests_per_second": 0.01}},
    }


async def _scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, auth(TENANT_A_KEY)],
    ids=["none", "wrong-token", "no-scheme", "api-key"],
)
async def test_metrics_need_the_token(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 401
    problem = response.json()
    assert problem["errors"] == [
        {"field": "header.authorization", "reason": "missing or wrong token"}
    ]
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_requests_logs_and_batches_are_counted(client: httpx.AsyncClient) -> None:
    before = await _scrape(client)
    unknown = uuid.uuid4()
    for _ in range(3):
        missing = await client.get(f"/api/v1/logs/{unknown}", headers=auth(TENANT_A_KEY))
        assert missing.status_code == 404
    log = with_id()
    assert (
        await client.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY))
    ).status_code == 201
    assert (
        await client.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY))
    ).status_code == 200
    batch = {"logs": [a_log(), a_log(), a_log(status=None)]}
    stored = await client.post("/api/v1/logs/batch", json=batch, headers=auth(TENANT_A_KEY))
    assert stored.json()["accepted"] == 2
    assert stored.json()["rejected"] == 1
    bad = await client.post(
        "/api/v1/logs", json=a_log(executed_at="yesterday"), headers=auth(TENANT_A_KEY)
    )
    assert bad.status_code == 422
    after = await _scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = "/api/v1/logs/{log_id}"
    assert grew("central_logger_http_requests_total", method="GET", route=route, status="404") == 3
    assert (
        grew(
            "central_logger_http_request_duration_seconds_count",
            method="GET",
            route=route,
            status="404",
        )
        == 3
    )
    # The route's template, never the path a client sent.
    assert str(unknown) not in after
    assert (
        grew(
            "central_logger_http_requests_total", method="POST", route="/api/v1/logs", status="201"
        )
        == 1
    )
    assert grew("central_logger_logs_ingested_total", outcome="accepted") == 3
    assert grew("central_logger_logs_ingested_total", outcome="duplicate") == 1
    assert grew("central_logger_logs_rejected_total", reason="invalid") == 2
    # Three flushes at least (one per ingesting request that stored rows): 1 + 1 + 2 rows.
    assert grew("central_logger_group_commit_rows_count") >= 3
    assert grew("central_logger_group_commit_rows_sum") == 4
    assert value(after, "central_logger_db_pool_connections_max") == 20
    assert value(after, "central_logger_db_pool_connections_open") >= 1
    in_use = value(after, "central_logger_db_pool_connections_in_use")
    assert 0 <= in_use <= 20


async def test_unmatched_paths_share_one_label(client: httpx.AsyncClient) -> None:
    before = await _scrape(client)
    for path in ("/api/v1/nothing-here", "/api/v1/also/missing"):
        assert (await client.get(path)).status_code == 404
    after = await _scrape(client)
    label = {"method": "GET", "route": "unmatched", "status": "404"}
    grew = value(after, "central_logger_http_requests_total", **label) - value(
        before, "central_logger_http_requests_total", **label
    )
    assert grew == 2
    assert "nothing-here" not in after


async def test_rate_limited_requests_are_counted(client: httpx.AsyncClient) -> None:
    before = await _scrape(client)
    answers = [
        (await client.post("/api/v1/logs", json=a_log(), headers=auth(TENANT_B_KEY))).status_code
        for _ in range(3)
    ]
    assert answers == [201, 201, 429]
    after = await _scrape(client)
    name = "central_logger_rate_limited_requests_total"
    assert value(after, name, budget="requests") - value(before, name, budget="requests") == 1


class TestFoldLag:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"metrics_token": TOKEN, "rollup_fold_interval_seconds": 0.1}

    async def test_the_fold_lag_is_reported(self, client: httpx.AsyncClient) -> None:
        await client.post("/api/v1/logs", json=a_log(), headers=auth(TENANT_A_KEY))
        for _ in range(100):  # folds run every 0.1 s here
            text = await _scrape(client)
            if value(text, "central_logger_rollup_folded_deltas_total") > 0:
                break
            await asyncio.sleep(0.1)
        assert value(text, "central_logger_rollup_folded_deltas_total") > 0
        assert value(text, "central_logger_rollup_last_fold_timestamp_seconds") > 0
        lag = value(text, "central_logger_rollup_fold_lag_seconds")
        assert 0 <= lag < 3600


class TestMetricsOff:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {}

    async def test_without_a_token_there_is_no_endpoint(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/metrics", headers=SCRAPE)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


class TestRequestId:
    async def test_one_is_made_and_sent_back_in_the_problem(
        self, client: httpx.AsyncClient
    ) -> None:
        first = await client.get(f"/api/v1/logs/{uuid.uuid4()}", headers=auth(TENANT_A_KEY))
        second = await client.get("/health")
        made = first.headers["x-request-id"]
        assert len(made) == 32
        assert int(made, 16) >= 0
        assert second.headers["x-request-id"] != made
        assert first.json()["request_id"] == made

    async def test_a_sane_one_is_kept(self, client: httpx.AsyncClient) -> None:
        sent = "edge-7f3a:trace.42_A"
        response = await client.post(
            "/api/v1/logs",
            json=a_log(status=None),
            headers={**auth(TENANT_A_KEY), "X-Request-ID": sent},
        )
        assert response.status_code == 422
        assert response.headers["x-request-id"] == sent
        assert response.json()["request_id"] == sent

    @pytest.mark.parametrize(
        "sent",
        [
            "has space",
            "x" * 65,
            "semi;colon",
            TENANT_A_KEY,
            f"req-{TENANT_A_KEY}",
            "cl_0123abcd_" + "A" * 43,
            "",
        ],
        ids=[
            "space",
            "too-long",
            "punctuation",
            "the-key",
            "contains-the-key",
            "key-shape",
            "empty",
        ],
    )
    async def test_an_unfit_one_is_replaced(self, client: httpx.AsyncClient, sent: str) -> None:
        response = await client.get(
            "/api/v1/logs", headers={**auth(TENANT_A_KEY), "X-Request-ID": sent}
        )
        assert response.status_code == 200
        made = response.headers["x-request-id"]
        assert made != sent
        assert len(made) == 32

    async def test_a_header_refusal_has_one_too(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health", headers={"X-Big": "x" * 20_000})
        assert response.status_code == 431
        assert response.json()["request_id"] == response.headers["x-request-id"]


class TestHsts:
    async def test_only_over_https(self, app: Any) -> None:
        for base, expected in (("https://testserver", True), ("http://testserver", False)):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=base) as http:
                response = await http.get("/health")
            assert ("strict-transport-security" in response.headers) is expected
            if expected:
                assert response.headers["strict-transport-security"] == "max-age=31536000"

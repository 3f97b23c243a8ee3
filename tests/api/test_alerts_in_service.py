"""The service's own loops (ALERTS_IN_SERVICE): a log that breaks a rule reaches the
webhook with no test driving the evaluator or the deliverer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook

from tests.support.alerting import clear_alerts, send_logs
from tests.support.tenants import TENANT_A_KEY, auth


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "alerts_in_service": True,
        "alerts_evaluation_interval_seconds": 0.5,
        "alerts_delivery_poll_seconds": 0.2,
        "alerts_allow_private_targets": True,
    }


@pytest.fixture(autouse=True)
def _clean(empty_database: str) -> None:
    clear_alerts(empty_database)


async def test_a_breaking_log_reaches_the_webhook_through_the_services_loops(
    client: httpx.AsyncClient, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    channel = await client.post(
        "/api/v1/alerts/channels",
        json={"name": "hook", "kind": "webhook", "url": httpserver.url_for("/hook")},
        headers=auth(TENANT_A_KEY),
    )
    assert channel.status_code == 201, channel.text
    rule = await client.post(
        "/api/v1/alerts/rules",
        json={
            "name": "failures",
            "kind": "count",
            "status": "FAILURE",
            "threshold": 0,
            "channel_ids": [channel.json()["id"]],
        },
        headers=auth(TENANT_A_KEY),
    )
    assert rule.status_code == 201, rule.text
    await send_logs(
        client, TENANT_A_KEY, datetime.now(UTC) - timedelta(seconds=30), 1, status="FAILURE"
    )
    for _ in range(300):  # until it arrives (a hang fails the test, not a clock)
        if httpserver.log:
            break
        await asyncio.sleep(0.1)
    [(request, _)] = httpserver.log
    body = Webhook(channel.json()["secret"]).verify(
        request.get_data(), dict(request.headers.items())
    )
    assert body["type"] == "alert.firing"
    assert body["rule"]["name"] == "failures"
    # Sent once, whatever the number of cycles since.
    await asyncio.sleep(1.5)
    assert len(httpserver.log) == 1

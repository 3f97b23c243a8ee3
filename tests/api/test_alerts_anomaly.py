"""The anomaly rule kind: an alert fires when insights finds an unusual hour (the same
method as GET /api/v1/insights/anomalies) and resolves once the unusual hour has left
the rule's window; another tenant's rule never sees it; bad definitions are 422s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from central_logger.settings import Settings
from tests.support.alerting import OVERRIDES, clear_alerts, evaluate, rows
from tests.support.factories import a_log
from tests.support.tenants import TENANT_A, TENANT_A_KEY, TENANT_B_KEY, auth

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
RUNS = 25  # over the anomaly method's minimum volume (20 runs an hour)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(OVERRIDES)


@pytest.fixture(autouse=True)
def _clean(empty_database: str) -> None:
    clear_alerts(empty_database)


def _hour_of(hour: datetime, failures: int) -> list[dict[str, Any]]:
    return [
        a_log(
            status="FAILED" if i < failures else "SUCCESS",
            executed_at=(hour + timedelta(minutes=2 * i)).isoformat(),
        )
        for i in range(RUNS)
    ]


async def _ship(client: httpx.AsyncClient, logs: list[dict[str, Any]]) -> None:
    for first in range(0, len(logs), 500):
        response = await client.post(
            "/api/v1/logs/batch",
            json={"logs": logs[first : first + 500]},
            headers=auth(TENANT_A_KEY),
        )
        assert response.json()["rejected"] == 0, response.text


async def _rule(client: httpx.AsyncClient, key: str, **fields: Any) -> httpx.Response:
    return await client.post(
        "/api/v1/alerts/rules", json={"name": "unusual", **fields}, headers=auth(key)
    )


async def test_an_unusual_hour_fires_once_and_resolves_once(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    # Four weeks of the same hours with one failure in 25 runs, then this week's spike
    # hour with 20 failures, and a normal hour after it.
    spike = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - 4 * HOUR
    logs: list[dict[str, Any]] = []
    for weeks_ago in range(1, 5):
        for offset in (-1, 0, 1, 2):
            logs += _hour_of(spike - timedelta(weeks=weeks_ago) + offset * HOUR, failures=1)
    logs += _hour_of(spike, failures=20) + _hour_of(spike + HOUR, failures=1)
    await _ship(client, logs)
    created = await _rule(
        client, TENANT_A_KEY, kind="anomaly", window_seconds=3600, group_by="category"
    )
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    other = await _rule(client, TENANT_B_KEY, kind="anomaly", window_seconds=3600)
    assert other.status_code == 201, other.text

    # The spike hour is judged once it is over; the alert stays firing while it is the
    # last whole hour, and resolves when the next (normal) hour is.
    for now in (spike + HOUR + 5 * MINUTE, spike + HOUR + 6 * MINUTE):
        await evaluate(app, settings, now)
    for now in (spike + 2 * HOUR + 5 * MINUTE, spike + 2 * HOUR + 6 * MINUTE):
        await evaluate(app, settings, now)

    events = rows(
        empty_database,
        "SELECT rule_id, client_id, group_key, from_state, to_state FROM alert_events ORDER BY id",
    )
    category = logs[0]["category"]
    assert events == [
        (rule_id, TENANT_A, category, "ok", "firing"),
        (rule_id, TENANT_A, category, "firing", "resolved"),
    ]
    (value,) = rows(
        empty_database,
        "SELECT value FROM alert_events WHERE to_state = 'firing' AND rule_id = %s",
        rule_id,
    )[0]
    assert value is not None  # the anomaly's score
    assert value > 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"threshold": 3}, "body.threshold"),
        ({"window_seconds": 900}, "body.window_seconds"),
        ({"group_by": "version"}, "body.group_by"),
        ({"workflow_version": "v2"}, "body.workflow_version"),
    ],
)
async def test_bad_anomaly_rules_are_422s_naming_the_field(
    client: httpx.AsyncClient, fields: dict[str, Any], field: str
) -> None:
    response = await _rule(
        client, TENANT_A_KEY, kind="anomaly", **{"window_seconds": 3600, **fields}
    )
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]

"""Alert rules on the real PostgreSQL with a clock the test sets: each kind fires and
resolves exactly once on logs built for it; pending, repeat and silence; figures equal
the metrics API's; two evaluators at once queue one notification."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from central_logger.settings import Settings
from tests.support.alerting import (
    OVERRIDES,
    base_time,
    clear_alerts,
    evaluate,
    rows,
    send_logs,
)
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth

MINUTE = timedelta(minutes=1)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(OVERRIDES)


@pytest.fixture(autouse=True)
def _clean(empty_database: str) -> None:
    clear_alerts(empty_database)


async def _channel(client: httpx.AsyncClient, key: str = TENANT_A_KEY) -> int:
    response = await client.post(
        "/api/v1/alerts/channels",
        json={"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook"},
        headers=auth(key),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _rule(client: httpx.AsyncClient, key: str = TENANT_A_KEY, **fields: Any) -> int:
    response = await client.post(
        "/api/v1/alerts/rules", json={"name": "r", **fields}, headers=auth(key)
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _events(database_url: str, rule_id: int) -> list[tuple[Any, ...]]:
    return rows(
        database_url,
        "SELECT client_id, group_key, from_state, to_state FROM alert_events"
        " WHERE rule_id = %s ORDER BY id",
        rule_id,
    )


def _notifications(database_url: str, rule_id: int) -> list[str]:
    found = rows(
        database_url, "SELECT reason FROM alert_outbox WHERE rule_id = %s ORDER BY id", rule_id
    )
    return [r[0] for r in found]


FIRED_AND_RESOLVED = [
    (TENANT_A, "", "ok", "firing"),
    (TENANT_A, "", "firing", "resolved"),
]


async def _fire_then_resolve(
    app: FastAPI, settings: Settings, database_url: str, rule_id: int, fire_at: Any, quiet_at: Any
) -> None:
    """Evaluate twice while the condition holds and twice after: one firing, one resolved."""
    await evaluate(app, settings, fire_at)
    await evaluate(app, settings, fire_at + MINUTE)
    await evaluate(app, settings, quiet_at)
    await evaluate(app, settings, quiet_at + MINUTE)
    assert _events(database_url, rule_id) == FIRED_AND_RESOLVED
    assert _notifications(database_url, rule_id) == ["firing", "resolved"]


async def test_failure_rate_fires_and_resolves_once(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    channel = await _channel(client)
    rule = await _rule(
        client,
        kind="failure_rate",
        threshold=50,
        min_runs=3,
        window_seconds=900,
        channel_ids=[channel],
    )
    await send_logs(client, TENANT_A_KEY, base - 10 * MINUTE, 2, status="FAILURE")
    await send_logs(client, TENANT_A_KEY, base - 9 * MINUTE, 1, status="SUCCESS")
    await _fire_then_resolve(app, settings, empty_database, rule, base, base + 20 * MINUTE)


async def test_failure_rate_below_min_runs_does_not_fire(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    rule = await _rule(client, kind="failure_rate", threshold=20, min_runs=3)
    await send_logs(client, TENANT_A_KEY, base - 5 * MINUTE, 1, status="FAILURE")
    await send_logs(client, TENANT_A_KEY, base - 5 * MINUTE, 1, status="SUCCESS")
    await evaluate(app, settings, base)
    assert _events(empty_database, rule) == []


async def test_no_runs_fires_when_a_workflow_stops_and_resolves_when_it_sends(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    channel = await _channel(client)
    rule = await _rule(client, kind="no_runs", window_seconds=600, channel_ids=[channel])
    await send_logs(client, TENANT_A_KEY, base - 5 * MINUTE, 1)
    await evaluate(app, settings, base)
    assert _events(empty_database, rule) == []
    await evaluate(app, settings, base + 10 * MINUTE)
    await evaluate(app, settings, base + 11 * MINUTE)
    await send_logs(client, TENANT_A_KEY, base + 12 * MINUTE, 1)
    await evaluate(app, settings, base + 13 * MINUTE)
    await evaluate(app, settings, base + 14 * MINUTE)
    assert _events(empty_database, rule) == FIRED_AND_RESOLVED
    assert _notifications(empty_database, rule) == ["firing", "resolved"]


async def test_no_runs_grouped_by_environment_fires_for_the_silent_one(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    rule = await _rule(client, kind="no_runs", window_seconds=600, group_by="environment")
    await send_logs(client, TENANT_A_KEY, base - 60 * MINUTE, 1, environment="staging")
    await send_logs(client, TENANT_A_KEY, base - 5 * MINUTE, 1, environment="production")
    await evaluate(app, settings, base)
    assert _events(empty_database, rule) == [(TENANT_A, "staging", "ok", "firing")]


async def test_latency_fires_and_resolves_once(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    channel = await _channel(client)
    rule = await _rule(client, kind="latency", percentile="p95", threshold=5, channel_ids=[channel])
    await send_logs(client, TENANT_A_KEY, base - 5 * MINUTE, 3, execution_time_seconds=12.0)
    await send_logs(client, TENANT_A_KEY, base - 5 * MINUTE, 1, execution_time_seconds=0.5)
    await _fire_then_resolve(app, settings, empty_database, rule, base, base + 20 * MINUTE)


async def test_count_fires_and_resolves_once(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    channel = await _channel(client)
    rule = await _rule(
        client,
        kind="count",
        status="failure",
        environment="production",
        threshold=2,
        channel_ids=[channel],
    )
    await send_logs(client, TENANT_A_KEY, base - 5 * MINUTE, 3, status="FAILURE")
    # Not counted: another environment, another status.
    await send_logs(
        client, TENANT_A_KEY, base - 5 * MINUTE, 5, status="FAILURE", environment="staging"
    )
    await send_logs(client, TENANT_A_KEY, base - 5 * MINUTE, 5, status="SUCCESS")
    await _fire_then_resolve(app, settings, empty_database, rule, base, base + 20 * MINUTE)


async def test_count_below_threshold_in_its_environment_does_not_fire(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    rule = await _rule(
        client, kind="count", status="FAILURE", environment="production", threshold=2
    )
    await send_logs(client, TENANT_A_KEY, base - 5 * MINUTE, 2, status="FAILURE")
    await send_logs(
        client, TENANT_A_KEY, base - 5 * MINUTE, 9, status="FAILURE", environment="staging"
    )
    await evaluate(app, settings, base)
    assert _events(empty_database, rule) == []


async def test_grouped_by_version_fires_for_the_failing_version_only(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    rule = await _rule(client, kind="failure_rate", threshold=50, group_by="version")
    await send_logs(
        client, TENANT_A_KEY, base - 5 * MINUTE, 3, status="FAILURE", workflow_version="2.0"
    )
    await send_logs(client, TENANT_A_KEY, base - 5 * MINUTE, 3, workflow_version="1.0")
    await evaluate(app, settings, base)
    await evaluate(app, settings, base + 20 * MINUTE)
    assert _events(empty_database, rule) == [
        (TENANT_A, "2.0", "ok", "firing"),
        (TENANT_A, "2.0", "firing", "resolved"),
    ]


async def test_grouped_by_category_narrowed_by_version_reads_raw_logs(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    rule = await _rule(
        client, kind="count", threshold=1, group_by="category", workflow_version="3.0"
    )
    await send_logs(
        client, TENANT_A_KEY, base - 5 * MINUTE, 2, category="refund", workflow_version="3.0"
    )
    await send_logs(
        client, TENANT_A_KEY, base - 5 * MINUTE, 5, category="billing", workflow_version="1.0"
    )
    await evaluate(app, settings, base)
    assert _events(empty_database, rule) == [(TENANT_A, "refund", "ok", "firing")]


async def test_pending_until_for_seconds_then_firing(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    channel = await _channel(client)
    rule = await _rule(
        client,
        kind="count",
        status="FAILURE",
        threshold=0,
        for_seconds=120,
        channel_ids=[channel],
    )
    await send_logs(client, TENANT_A_KEY, base - MINUTE, 1, status="FAILURE")
    await evaluate(app, settings, base)
    await evaluate(app, settings, base + MINUTE)
    assert _notifications(empty_database, rule) == []
    await evaluate(app, settings, base + 3 * MINUTE)
    assert _events(empty_database, rule) == [
        (TENANT_A, "", "ok", "pending"),
        (TENANT_A, "", "pending", "firing"),
    ]
    assert _notifications(empty_database, rule) == ["firing"]


async def test_pending_that_clears_goes_back_to_ok_without_a_notification(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    channel = await _channel(client)
    rule = await _rule(
        client,
        kind="count",
        threshold=0,
        for_seconds=600,
        window_seconds=300,
        channel_ids=[channel],
    )
    await send_logs(client, TENANT_A_KEY, base - MINUTE, 1)
    await evaluate(app, settings, base)
    await evaluate(app, settings, base + 10 * MINUTE)
    assert _events(empty_database, rule) == [
        (TENANT_A, "", "ok", "pending"),
        (TENANT_A, "", "pending", "ok"),
    ]
    assert _notifications(empty_database, rule) == []


async def test_repeat_interval_and_silence(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    channel = await _channel(client)
    rule = await _rule(
        client,
        kind="count",
        threshold=0,
        window_seconds=3600,
        repeat_seconds=600,
        channel_ids=[channel],
    )
    await send_logs(client, TENANT_A_KEY, base - MINUTE, 1)
    await evaluate(app, settings, base)
    await evaluate(app, settings, base + 5 * MINUTE)  # within the repeat interval
    await evaluate(app, settings, base + 10 * MINUTE)  # repeated
    assert _notifications(empty_database, rule) == ["firing", "repeat"]
    silenced = await client.put(
        f"/api/v1/alerts/rules/{rule}/silence",
        json={"until": (base + 60 * MINUTE).isoformat()},
        headers=auth(TENANT_A_KEY),
    )
    assert silenced.status_code == 200, silenced.text
    await evaluate(app, settings, base + 25 * MINUTE)  # would repeat: silenced
    assert _notifications(empty_database, rule) == ["firing", "repeat"]
    await evaluate(app, settings, base + 65 * MINUTE)  # silence over, the log aged out
    assert _notifications(empty_database, rule) == ["firing", "repeat", "resolved"]


async def test_figures_equal_the_metrics_api(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    rate = await _rule(client, kind="failure_rate", threshold=0, window_seconds=7200)
    latency = await _rule(
        client, kind="latency", percentile="p99", threshold=0, window_seconds=7200
    )
    for minutes, status, seconds in [
        (100, "FAILURE", 3.0),
        (70, "SUCCESS", 1.2),
        (30, "SUCCESS", 7.5),
        (3, "FAILURE", 0.4),
    ]:
        await send_logs(
            client,
            TENANT_A_KEY,
            base - minutes * MINUTE,
            2,
            status=status,
            execution_time_seconds=seconds,
        )
    await evaluate(app, settings, base)
    overview = await client.get(
        "/api/v1/metrics/overview",
        params={"from": (base - 120 * MINUTE).isoformat(), "to": base.isoformat()},
        headers=auth(TENANT_A_KEY),
    )
    figures = overview.json()
    values = dict(rows(empty_database, "SELECT rule_id, value FROM alert_states"))
    assert values[rate] == pytest.approx(100 * figures["failed_runs"] / figures["total_runs"])
    assert values[latency] == pytest.approx(figures["p99_execution_time_seconds"])


async def test_two_evaluators_at_once_queue_one_notification(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    channel = await _channel(client)
    rule = await _rule(client, kind="count", threshold=0, channel_ids=[channel])
    await send_logs(client, TENANT_A_KEY, base - MINUTE, 1)
    reports = await asyncio.gather(*(evaluate(app, settings, base) for _ in range(2)))
    assert sorted(r.ran for r in reports) in ([False, True], [True, True])
    await evaluate(app, settings, base)  # and a restart evaluating the same moment again
    assert _notifications(empty_database, rule) == ["firing"]
    assert len(_events(empty_database, rule)) == 1


async def test_a_tenant_never_triggers_another_tenants_rule(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    rule_a = await _rule(client, kind="count", status="FAILURE", threshold=0)
    await send_logs(client, TENANT_B_KEY, base - MINUTE, 5, status="FAILURE")
    await evaluate(app, settings, base)
    assert _events(empty_database, rule_a) == []


async def test_a_provider_rule_over_every_client_alerts_per_client(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    rule = await _rule(client, key=ADMIN_KEY, kind="count", status="FAILURE", threshold=0)
    await send_logs(client, TENANT_A_KEY, base - MINUTE, 1, status="FAILURE")
    await send_logs(client, TENANT_B_KEY, base - MINUTE, 1, status="FAILURE")
    await evaluate(app, settings, base)
    assert sorted(_events(empty_database, rule)) == [
        (TENANT_A, "", "ok", "firing"),
        (TENANT_B, "", "ok", "firing"),
    ]
    # The provider's own: neither tenant sees them.
    for key in (TENANT_A_KEY, TENANT_B_KEY):
        events = await client.get("/api/v1/alerts/events", headers=auth(key))
        assert events.json()["items"] == []
    admin = await client.get("/api/v1/alerts/events", headers=auth(ADMIN_KEY))
    assert {e["client_id"] for e in admin.json()["items"]} == {TENANT_A, TENANT_B}


async def test_a_broken_rule_does_not_stop_the_others(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, empty_database: str
) -> None:
    base = base_time()
    # Written past the API's checks: a window longer than the metrics API answers.
    [(broken,)] = rows(
        empty_database,
        "INSERT INTO alert_rules (client_id, provider, name, kind, threshold, window_seconds)"
        " VALUES (%s, false, 'broken', 'count', 0, %s) RETURNING id",
        TENANT_A,
        400 * 86_400,
    )
    rule = await _rule(client, kind="count", threshold=0)
    await send_logs(client, TENANT_A_KEY, base - MINUTE, 1)
    report = await evaluate(app, settings, base)
    assert report.rules == 2
    assert _events(empty_database, rule) == [(TENANT_A, "", "ok", "firing")]
    assert _events(empty_database, broken) == []

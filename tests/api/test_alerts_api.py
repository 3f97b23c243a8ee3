"""/api/v1/alerts: rules and channels CRUD, silences, firing now, events; a tenant never
sees or touches another's; admin keys see all, by client; bad rules get a 422 naming
the field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from central_logger.settings import Settings
from tests.support.alerting import base_time, clear_alerts, evaluate, send_logs
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth

HOOK = "https://hooks.example.com/central-logger"
RULE = {"name": "failing", "kind": "failure_rate", "threshold": 20, "min_runs": 5}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The service's default: webhook targets on private addresses are refused.
    return {"alerts_in_service": False}


@pytest.fixture(autouse=True)
def _clean(empty_database: str) -> None:
    clear_alerts(empty_database)


async def _create(client: httpx.AsyncClient, path: str, key: str, body: dict[str, Any]) -> Any:
    response = await client.post(f"/api/v1/alerts/{path}", json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    return response.json()


def _field(response: httpx.Response) -> str:
    field: str = response.json()["errors"][0]["field"]
    return field


async def test_rule_crud(client: httpx.AsyncClient) -> None:
    channel = await _create(
        client, "channels", TENANT_A_KEY, {"name": "h", "kind": "webhook", "url": HOOK}
    )
    assert channel["secret"].startswith("whsec_")
    rule = await _create(client, "rules", TENANT_A_KEY, {**RULE, "channel_ids": [channel["id"]]})
    assert rule["client_id"] == TENANT_A
    assert rule["provider"] is False
    assert rule["channel_ids"] == [channel["id"]]
    path = f"/api/v1/alerts/rules/{rule['id']}"
    assert (await client.get(path, headers=auth(TENANT_A_KEY))).json() == rule
    replaced = await client.put(
        path,
        json={"name": "slow", "kind": "latency", "threshold": 3, "group_by": "category"},
        headers=auth(TENANT_A_KEY),
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["percentile"] == "p95"
    assert replaced.json()["channel_ids"] == []
    listed = await client.get("/api/v1/alerts/rules", headers=auth(TENANT_A_KEY))
    assert [r["name"] for r in listed.json()["items"]] == ["slow"]
    assert (await client.delete(path, headers=auth(TENANT_A_KEY))).status_code == 204
    assert (await client.get(path, headers=auth(TENANT_A_KEY))).status_code == 404


async def test_silence_and_unsilence(client: httpx.AsyncClient) -> None:
    rule = await _create(client, "rules", TENANT_A_KEY, RULE)
    path = f"/api/v1/alerts/rules/{rule['id']}/silence"
    silenced = await client.put(
        path, json={"until": "2030-01-01T00:00:00+02:00"}, headers=auth(TENANT_A_KEY)
    )
    assert silenced.json()["silenced_until"] == "2029-12-31T22:00:00Z"
    naive = await client.put(
        path, json={"until": "2030-01-01T00:00:00"}, headers=auth(TENANT_A_KEY)
    )
    assert naive.status_code == 422
    assert _field(naive) == "body.until"
    cleared = await client.put(path, json={"until": None}, headers=auth(TENANT_A_KEY))
    assert cleared.json()["silenced_until"] is None


BAD_RULES: list[tuple[dict[str, Any], str]] = [
    ({"name": "x", "kind": "failure_rate"}, "body.threshold"),
    ({**RULE, "threshold": 150}, "body.threshold"),
    ({"name": "x", "kind": "no_runs", "threshold": 3}, "body.threshold"),
    ({**RULE, "percentile": "p99"}, "body.percentile"),
    ({"name": "x", "kind": "latency", "threshold": 1, "status": "FAILURE"}, "body.status"),
    ({**RULE, "environment": "production", "group_by": "environment"}, "body.group_by"),
    ({**RULE, "group_by": "team"}, "body.group_by"),
    ({**RULE, "kind": "error_budget"}, "body.kind"),
    ({**RULE, "window_seconds": 10}, "body.window_seconds"),
    ({**RULE, "threshold": -1}, "body.threshold"),
    ({**RULE, "min_runs": 0}, "body.min_runs"),
    ({**RULE, "for_seconds": -5}, "body.for_seconds"),
    ({**RULE, "channel_ids": [987654]}, "body.channel_ids"),
    ({**RULE, "severity": "high"}, "body.severity"),
    ({**RULE, "name": ""}, "body.name"),
    ({**RULE, "name": "two\nlines"}, "body.name"),
]


async def test_bad_rules_get_a_422_naming_the_field(client: httpx.AsyncClient) -> None:
    for body, field in BAD_RULES:
        response = await client.post("/api/v1/alerts/rules", json=body, headers=auth(TENANT_A_KEY))
        assert response.status_code == 422, (body, response.text)
        assert _field(response) == field, (body, response.text)
    listed = await client.get("/api/v1/alerts/rules", headers=auth(TENANT_A_KEY))
    assert listed.json()["items"] == []


BAD_CHANNELS: list[tuple[dict[str, Any], str]] = [
    ({"name": "h", "kind": "webhook", "url": "http://127.0.0.1:8080/x"}, "body.url"),
    ({"name": "h", "kind": "webhook", "url": "http://169.254.169.254/latest"}, "body.url"),
    ({"name": "h", "kind": "webhook", "url": "http://[::1]/x"}, "body.url"),
    ({"name": "h", "kind": "slack", "url": "http://localhost/x"}, "body.url"),
    ({"name": "h", "kind": "webhook", "url": "http://10.1.2.3/x"}, "body.url"),
    ({"name": "h", "kind": "webhook", "url": "ftp://example.com/x"}, "body.url"),
    ({"name": "h", "kind": "webhook"}, "body.url"),
    ({"name": "h", "kind": "email"}, "body.recipients"),
    ({"name": "h", "kind": "email", "recipients": ["not an address"]}, "body.recipients.0"),
    ({"name": "h", "kind": "pager", "url": HOOK}, "body.kind"),
]


async def test_bad_channels_get_a_422_naming_the_field(client: httpx.AsyncClient) -> None:
    for body, field in BAD_CHANNELS:
        response = await client.post(
            "/api/v1/alerts/channels", json=body, headers=auth(TENANT_A_KEY)
        )
        assert response.status_code == 422, (body, response.text)
        assert _field(response) == field, (body, response.text)


async def test_a_tenant_never_sees_or_touches_another_tenants_rules_and_channels(
    client: httpx.AsyncClient,
) -> None:
    channel = await _create(
        client, "channels", TENANT_A_KEY, {"name": "h", "kind": "webhook", "url": HOOK}
    )
    rule = await _create(client, "rules", TENANT_A_KEY, RULE)
    b = auth(TENANT_B_KEY)
    assert (await client.get("/api/v1/alerts/rules", headers=b)).json()["items"] == []
    assert (await client.get("/api/v1/alerts/channels", headers=b)).json()["items"] == []
    rule_path = f"/api/v1/alerts/rules/{rule['id']}"
    assert (await client.get(rule_path, headers=b)).status_code == 404
    assert (await client.put(rule_path, json=RULE, headers=b)).status_code == 404
    assert (
        await client.put(f"{rule_path}/silence", json={"until": None}, headers=b)
    ).status_code == 404
    assert (await client.delete(rule_path, headers=b)).status_code == 404
    channel_path = f"/api/v1/alerts/channels/{channel['id']}"
    assert (await client.get(channel_path, headers=b)).status_code == 404
    assert (await client.delete(channel_path, headers=b)).status_code == 404
    assert (
        await client.post(f"{channel_path}/rotate-secret", json={}, headers=b)
    ).status_code == 404
    # Nor notify through it.
    linked = await client.post(
        "/api/v1/alerts/rules", json={**RULE, "channel_ids": [channel["id"]]}, headers=b
    )
    assert linked.status_code == 422
    assert _field(linked) == "body.channel_ids"
    # Nor make a rule in its name.
    claimed = await client.post(
        "/api/v1/alerts/rules", json={**RULE, "client_id": TENANT_A}, headers=b
    )
    assert claimed.status_code == 403
    assert _field(claimed) == "body.client_id"
    narrowed = await client.get("/api/v1/alerts/rules", params={"client_id": TENANT_A}, headers=b)
    assert narrowed.status_code == 403
    # A's rule is unchanged.
    assert (await client.get(rule_path, headers=auth(TENANT_A_KEY))).json() == rule


async def test_admin_sees_every_rule_by_client_and_narrows_to_one(
    client: httpx.AsyncClient,
) -> None:
    await _create(client, "rules", TENANT_B_KEY, RULE)
    await _create(client, "rules", TENANT_A_KEY, RULE)
    await _create(client, "rules", ADMIN_KEY, RULE)  # the provider's, over every client
    await _create(client, "rules", ADMIN_KEY, {**RULE, "client_id": TENANT_B})
    admin = await client.get("/api/v1/alerts/rules", headers=auth(ADMIN_KEY))
    assert [(r["client_id"], r["provider"]) for r in admin.json()["items"]] == [
        (None, True),
        (TENANT_A, False),
        (TENANT_B, False),
        (TENANT_B, True),
    ]
    narrowed = await client.get(
        "/api/v1/alerts/rules", params={"client_id": TENANT_B}, headers=auth(ADMIN_KEY)
    )
    assert {r["client_id"] for r in narrowed.json()["items"]} == {TENANT_B}
    # The provider's rule about tenant_b is not tenant_b's to see.
    own = await client.get("/api/v1/alerts/rules", headers=auth(TENANT_B_KEY))
    assert [r["provider"] for r in own.json()["items"]] == [False]
    # A provider rule notifies only the provider's channels.
    tenants_channel = await _create(
        client, "channels", TENANT_A_KEY, {"name": "h", "kind": "webhook", "url": HOOK}
    )
    refused = await client.post(
        "/api/v1/alerts/rules",
        json={**RULE, "channel_ids": [tenants_channel["id"]]},
        headers=auth(ADMIN_KEY),
    )
    assert refused.status_code == 422


async def test_firing_now_and_events_per_tenant(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    base = base_time()
    rule = await _create(
        client,
        "rules",
        TENANT_A_KEY,
        {
            "name": "failures",
            "kind": "count",
            "status": "FAILURE",
            "threshold": 0,
            "group_by": "environment",
        },
    )
    await _create(client, "rules", TENANT_B_KEY, {"name": "b", "kind": "count", "threshold": 100})
    await send_logs(client, TENANT_A_KEY, base - timedelta(minutes=1), 1, status="FAILURE")
    await send_logs(client, TENANT_B_KEY, base - timedelta(minutes=1), 1, status="FAILURE")
    await evaluate(app, settings, base)
    firing = (await client.get("/api/v1/alerts/firing", headers=auth(TENANT_A_KEY))).json()
    [alert] = firing["items"]
    assert alert["rule_id"] == rule["id"]
    assert alert["state"] == "firing"
    assert alert["group_key"] == "production"
    assert "client=tenant_a" in alert["logs_url"]
    assert "environment=production" in alert["logs_url"]
    assert "status=FAILURE" in alert["logs_url"]
    assert alert["value"] == 1
    await send_logs(client, TENANT_A_KEY, base, 2, status="FAILURE")
    await evaluate(app, settings, base + timedelta(seconds=30))
    firing = (await client.get("/api/v1/alerts/firing", headers=auth(TENANT_A_KEY))).json()
    assert [a["value"] for a in firing["items"]] == [3]  # kept current while it fires
    events = (await client.get("/api/v1/alerts/events", headers=auth(TENANT_A_KEY))).json()
    assert [(e["rule_name"], e["to_state"]) for e in events["items"]] == [("failures", "firing")]
    for path in ("firing", "events"):
        other = await client.get(f"/api/v1/alerts/{path}", headers=auth(TENANT_B_KEY))
        assert other.json()["items"] == []
    admin = await client.get("/api/v1/alerts/firing", headers=auth(ADMIN_KEY))
    assert [a["client_id"] for a in admin.json()["items"]] == [TENANT_A]


async def test_admin_narrowed_to_a_client_makes_that_clients_rules(
    client: httpx.AsyncClient,
) -> None:
    made = await client.post(
        "/api/v1/alerts/rules", params={"client_id": TENANT_B}, json=RULE, headers=auth(ADMIN_KEY)
    )
    assert made.status_code == 201, made.text
    assert (made.json()["client_id"], made.json()["provider"]) == (TENANT_B, True)
    channel = await client.post(
        "/api/v1/alerts/channels",
        params={"client_id": TENANT_B},
        json={"name": "h", "kind": "slack", "url": HOOK},
        headers=auth(ADMIN_KEY),
    )
    assert channel.status_code == 201, channel.text
    clash = await client.post(
        "/api/v1/alerts/rules",
        params={"client_id": TENANT_B},
        json={**RULE, "client_id": TENANT_A},
        headers=auth(ADMIN_KEY),
    )
    assert clash.status_code == 422
    assert _field(clash) == "body.client_id"


async def test_disabling_a_rule_drops_its_alerts(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    base = base_time()
    body = {"name": "any", "kind": "count", "threshold": 0}
    rule = await _create(client, "rules", TENANT_A_KEY, body)
    await send_logs(client, TENANT_A_KEY, base - timedelta(minutes=1), 1)
    await evaluate(app, settings, base)
    firing = await client.get("/api/v1/alerts/firing", headers=auth(TENANT_A_KEY))
    assert len(firing.json()["items"]) == 1
    disabled = await client.put(
        f"/api/v1/alerts/rules/{rule['id']}",
        json={**body, "enabled": False},
        headers=auth(TENANT_A_KEY),
    )
    assert disabled.status_code == 200, disabled.text
    await evaluate(app, settings, base + timedelta(minutes=1))
    firing = await client.get("/api/v1/alerts/firing", headers=auth(TENANT_A_KEY))
    assert firing.json()["items"] == []

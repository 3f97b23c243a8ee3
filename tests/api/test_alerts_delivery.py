"""Delivering alerts to real receivers on 127.0.0.1: an HTTP server that records
requests (pytest-httpserver) and an SMTP server (aiosmtpd). Retries with backoff,
Retry-After, give-up, every attempt recorded; Standard Webhooks signatures checked with
the specification's own verifier, across a secret rotation; SSRF refusal at send time."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from central_logger.settings import Settings
from tests.support.alerting import (
    OVERRIDES,
    base_time,
    clear_alerts,
    deliver,
    evaluate,
    rows,
    send_logs,
)
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth

MINUTE = timedelta(minutes=1)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return dict(OVERRIDES)


@pytest.fixture(autouse=True)
def _clean(empty_database: str) -> None:
    clear_alerts(empty_database)


async def _webhook(client: httpx.AsyncClient, url: str, kind: str = "webhook") -> dict[str, Any]:
    response = await client.post(
        "/api/v1/alerts/channels",
        json={"name": kind, "kind": kind, "url": url},
        headers=auth(TENANT_A_KEY),
    )
    assert response.status_code == 201, response.text
    channel: dict[str, Any] = response.json()
    return channel


async def _firing(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, channel_id: int
) -> datetime:
    """A count rule that fires at the returned moment, notifying the channel."""
    base = base_time()
    response = await client.post(
        "/api/v1/alerts/rules",
        json={
            "name": "failures",
            "kind": "count",
            "status": "FAILURE",
            "threshold": 0,
            "channel_ids": [channel_id],
        },
        headers=auth(TENANT_A_KEY),
    )
    assert response.status_code == 201, response.text
    await send_logs(client, TENANT_A_KEY, base - MINUTE, 2, status="FAILURE")
    report = await evaluate(app, settings, base)
    assert report.notifications == 1
    return base


async def _deliveries(client: httpx.AsyncClient, key: str = TENANT_A_KEY) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/alerts/deliveries", headers=auth(key))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _headers(request: Any) -> dict[str, str]:
    return {k: v for k, v in request.headers.items()}


async def test_500_500_200_gets_three_attempts_and_one_event(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    empty_database: str,
    httpserver: HTTPServer,
) -> None:
    for status in (500, 500, 200):
        httpserver.expect_ordered_request("/hook", method="POST").respond_with_data(
            "", status=status
        )
    channel = await _webhook(client, httpserver.url_for("/hook"))
    base = await _firing(app, client, settings, channel["id"])
    first = await deliver(app, settings, base)
    assert (first.claimed, first.retried) == (1, 1)
    # Not due again before its backoff.
    assert (await deliver(app, settings, base + timedelta(seconds=1))).claimed == 0
    await deliver(app, settings, base + 10 * MINUTE)
    done = await deliver(app, settings, base + 20 * MINUTE)
    assert done.sent == 1
    assert len(httpserver.log) == 3
    httpserver.check_assertions()
    [delivery] = await _deliveries(client)
    assert delivery["status"] == "sent"
    assert [a["outcome"] for a in delivery["attempt_log"]] == ["retry", "retry", "sent"]
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
    assert rows(empty_database, "SELECT count(*) FROM alert_events") == [(1,)]
    # Every attempt carried the same webhook-id: a receiver can drop duplicates.
    assert len({r.headers["webhook-id"] for r, _ in httpserver.log}) == 1
    # The body says what fired and links to the runs, and verifies.
    request = httpserver.log[-1][0]
    body = Webhook(channel["secret"]).verify(request.get_data(), _headers(request))
    assert body["type"] == "alert.firing"
    assert body["client_id"] == "tenant_a"
    assert body["value"] == 2
    assert body["threshold"] == 0
    assert "/logs?client=tenant_a" in body["logs_url"]
    assert "status=FAILURE" in body["logs_url"]


async def test_a_signature_with_another_secret_does_not_verify(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    channel = await _webhook(client, httpserver.url_for("/hook"))
    other = await _webhook(client, httpserver.url_for("/other"))
    base = await _firing(app, client, settings, channel["id"])
    await deliver(app, settings, base)
    request = httpserver.log[0][0]
    with pytest.raises(WebhookVerificationError):
        Webhook(other["secret"]).verify(request.get_data(), _headers(request))
    tampered = request.get_data().replace(b"tenant_a", b"tenant_b")
    with pytest.raises(WebhookVerificationError):
        Webhook(channel["secret"]).verify(tampered, _headers(request))


async def test_rotated_secret_signs_beside_the_old_one_during_the_overlap(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=200)
    channel = await _webhook(client, httpserver.url_for("/hook"))
    rotated = await client.post(
        f"/api/v1/alerts/channels/{channel['id']}/rotate-secret",
        json={"overlap_seconds": 3600},
        headers=auth(TENANT_A_KEY),
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != channel["secret"]
    queued = await client.post(
        f"/api/v1/alerts/channels/{channel['id']}/test", headers=auth(TENANT_A_KEY)
    )
    assert queued.status_code == 202, queued.text
    await deliver(app, settings, datetime.fromisoformat(queued.json()["next_attempt_at"]))
    request = httpserver.log[0][0]
    for secret in (channel["secret"], new_secret):
        assert Webhook(secret).verify(request.get_data(), _headers(request))["type"] == "alert.test"


async def test_429_retry_after_is_honoured(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    empty_database: str,
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "900"}
    )
    channel = await _webhook(client, httpserver.url_for("/hook"))
    base = await _firing(app, client, settings, channel["id"])
    await deliver(app, settings, base)
    [(next_attempt_at,)] = rows(empty_database, "SELECT next_attempt_at FROM alert_outbox")
    assert next_attempt_at >= base + timedelta(seconds=900)
    assert (await deliver(app, settings, base + 14 * MINUTE)).claimed == 0


async def test_gives_up_after_the_give_up_time(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=503)
    channel = await _webhook(client, httpserver.url_for("/hook"))
    base = await _firing(app, client, settings, channel["id"])
    await deliver(app, settings, base)
    late = base + timedelta(seconds=settings.alerts_delivery_give_up_seconds)
    report = await deliver(app, settings, late)
    assert report.failed == 1
    [delivery] = await _deliveries(client)
    assert delivery["status"] == "failed"
    assert delivery["attempt_log"][-1]["error"].startswith("gave up")
    assert (await deliver(app, settings, late + timedelta(days=1))).claimed == 0


async def test_private_target_refused_at_send_time_unless_allowed(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=200)
    channel = await _webhook(client, httpserver.url_for("/hook").replace("localhost", "127.0.0.1"))
    base = await _firing(app, client, settings, channel["id"])
    report = await deliver(app, settings, base, alerts_allow_private_targets=False)
    assert report.failed == 1
    assert httpserver.log == []
    [delivery] = await _deliveries(client)
    assert "private, loopback or link-local" in delivery["attempt_log"][0]["error"]


async def test_slack_message_reads_and_links(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    channel = await _webhook(client, httpserver.url_for("/slack"), kind="slack")
    assert "secret" in channel
    assert channel["secret"] is None
    base = await _firing(app, client, settings, channel["id"])
    assert (await deliver(app, settings, base)).sent == 1
    text = httpserver.log[0][0].get_json()["text"]
    assert text.startswith("[FIRING] failures: client tenant_a, count 2")
    assert "/logs?client=tenant_a" in text


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def test_email_over_smtp(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    smtp_server: tuple[_Inbox, int],
) -> None:
    inbox, port = smtp_server
    response = await client.post(
        "/api/v1/alerts/channels",
        json={"name": "ops", "kind": "email", "recipients": ["ops@example.com"]},
        headers=auth(TENANT_A_KEY),
    )
    assert response.status_code == 201, response.text
    base = await _firing(app, client, settings, response.json()["id"])
    report = await deliver(
        app,
        settings,
        base,
        alerts_smtp_host="127.0.0.1",
        alerts_smtp_port=port,
        alerts_smtp_starttls=False,
        alerts_smtp_from="alerts@example.org",
    )
    assert report.sent == 1
    [message] = inbox.messages
    assert message["To"] == "ops@example.com"
    assert message["From"] == "alerts@example.org"
    assert message["Subject"].startswith("[FIRING] failures")
    assert "/logs?client=tenant_a" in message.get_payload(decode=True).decode()


async def test_another_tenant_sees_no_deliveries_and_cannot_test_the_channel(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=200)
    channel = await _webhook(client, httpserver.url_for("/hook"))
    base = await _firing(app, client, settings, channel["id"])
    await deliver(app, settings, base)
    assert len(await _deliveries(client)) == 1
    assert await _deliveries(client, TENANT_B_KEY) == []
    tested = await client.post(
        f"/api/v1/alerts/channels/{channel['id']}/test", headers=auth(TENANT_B_KEY)
    )
    assert tested.status_code == 404


async def test_a_host_that_does_not_resolve_is_retried_not_given_up(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    channel = await _webhook(client, "http://alerts-test.invalid/hook")
    base = await _firing(app, client, settings, channel["id"])
    report = await deliver(app, settings, base, alerts_allow_private_targets=False)
    assert report.retried == 1
    [delivery] = await _deliveries(client)
    assert delivery["status"] == "pending"
    assert delivery["attempt_log"][0]["error"].startswith("cannot resolve alerts-test.invalid")

"""Sending one notification to one channel: a webhook signed per Standard Webhooks, a
Slack incoming webhook, or an email over SMTP; and the checks that keep webhook targets
off the service's own network (server-side request forgery)."""

from __future__ import annotations

import asyncio
import base64
import email.utils
import ipaddress
import json
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import aiosmtplib
import httpx
from standardwebhooks.webhooks import Webhook

from central_logger import __version__
from central_logger.alerts.models import SmtpConfig

USER_AGENT = f"central-logger/{__version__} (alerts)"
# A Retry-After beyond this is taken as this (the give-up time still applies).
MAX_RETRY_AFTER_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    retryable: bool
    status_code: int | None = None
    error: str | None = None
    retry_after_seconds: float | None = None


class TargetRefusedError(ValueError):
    """A webhook target on an address the service must not call."""


class TargetUnresolvedError(TargetRefusedError):
    """A host name that did not resolve now: tried again later (DNS fails for a while)."""


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secrets_in_force: tuple[str, ...], *, msg_id: str, at: datetime, payload: str) -> str:
    """The webhook-signature header: one signature per secret in force (the new one and,
    during a rotation's overlap, the previous one), space-separated as the spec says."""
    return " ".join(
        Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=payload)
        for secret in secrets_in_force
    )


# --- server-side request forgery ------------------------------------------------------------


def _refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def check_url(url: str, *, allow_private: bool) -> str | None:
    """Why `url` may not be a target, judged without the network (a literal address or
    a name that is always local); None when it may. Names are resolved and checked
    again at every send (`resolve_and_check`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username or parts.password:
        return "must not carry credentials"
    if allow_private:
        return None
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return "must not point at a loopback address (ALERTS_ALLOW_PRIVATE_TARGETS)"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if _refused_address(address):
        return (
            "must not point at a private, loopback or link-local address"
            " (ALERTS_ALLOW_PRIVATE_TARGETS)"
        )
    return None


async def resolve_and_check(url: str, *, allow_private: bool) -> None:
    """Refuse `url` when it is malformed or any address its host resolves to is not a
    public one. (A name that changes its answer between this check and the connection
    could still slip by; docs/alerts.md says so.)"""
    reason = check_url(url, allow_private=allow_private)
    if reason is not None:
        raise TargetRefusedError(f"target {reason}")
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetUnresolvedError(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        if _refused_address(ipaddress.ip_address(info[4][0])):
            raise TargetRefusedError(
                f"{host} resolves to a private, loopback or link-local address"
                " (ALERTS_ALLOW_PRIVATE_TARGETS)"
            )


# --- HTTP -----------------------------------------------------------------------------------


def _retry_after(header: str | None) -> float | None:
    if not header:
        return None
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


async def _post(
    http: httpx.AsyncClient, url: str, *, content: bytes, headers: dict[str, str]
) -> SendResult:
    try:
        response = await http.post(
            url,
            content=content,
            headers={"content-type": "application/json", "user-agent": USER_AGENT, **headers},
        )
    except httpx.TimeoutException as exc:
        return SendResult(ok=False, retryable=True, error=f"timeout: {type(exc).__name__}")
    except httpx.HTTPError as exc:
        return SendResult(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}")
    status = response.status_code
    if 200 <= status < 300:
        return SendResult(ok=True, retryable=False, status_code=status)
    retryable = status == 429 or status >= 500 or status == 408
    return SendResult(
        ok=False,
        retryable=retryable,
        status_code=status,
        error=f"HTTP {status}: {response.text[:200]}",
        retry_after_seconds=_retry_after(response.headers.get("retry-after"))
        if retryable
        else None,
    )


async def send_webhook(
    http: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    *,
    msg_id: str,
    secrets_in_force: tuple[str, ...],
    allow_private: bool,
) -> SendResult:
    try:
        await resolve_and_check(url, allow_private=allow_private)
    except TargetRefusedError as exc:
        unresolved = isinstance(exc, TargetUnresolvedError)
        return SendResult(ok=False, retryable=unresolved, error=str(exc))
    payload = json.dumps(body, separators=(",", ":"))
    at = datetime.now(UTC)  # the receiver checks it against its own clock
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp()))}
    if secrets_in_force:
        headers["webhook-signature"] = sign(secrets_in_force, msg_id=msg_id, at=at, payload=payload)
    return await _post(http, url, content=payload.encode(), headers=headers)


def summary(body: dict[str, Any]) -> str:
    """One line: what fired or resolved, where, and the figure."""
    rule = body["rule"]
    state = "RESOLVED" if body["state"] == "resolved" else "FIRING"
    if body["type"] == "alert.test":
        return f"Test notification from Central Logger ({rule['name']})"
    group = f" [{body['group']['by']}={body['group']['value']}]" if body.get("group") else ""
    value = body.get("value")
    shown = "no data" if value is None else f"{value:.4g}"
    threshold = body.get("threshold")
    limit = "" if threshold is None else f" (threshold {threshold:.4g})"
    where = f"client {body['client_id']}{group}"
    line = f"[{state}] {rule['name']}: {where}, {rule['kind']} {shown}{limit}"
    # Labels come from logs: no line breaks into an email subject.
    return " ".join(line.split())


async def send_slack(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], *, allow_private: bool
) -> SendResult:
    try:
        await resolve_and_check(url, allow_private=allow_private)
    except TargetRefusedError as exc:
        unresolved = isinstance(exc, TargetUnresolvedError)
        return SendResult(ok=False, retryable=unresolved, error=str(exc))
    text = f"{summary(body)}\n<{body['logs_url']}|View the runs in Central Logger>"
    return await _post(http, url, content=json.dumps({"text": text}).encode(), headers={})


async def send_email(
    smtp: SmtpConfig, recipients: list[str], body: dict[str, Any], *, timeout_seconds: float
) -> SendResult:
    if not smtp.host:
        return SendResult(ok=False, retryable=False, error="ALERTS_SMTP_HOST is not set")
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = summary(body)
    message.set_content(
        f"{summary(body)}\n\nWindow: {body['window_seconds']} s\n"
        f"At: {body['occurred_at']}\nRuns: {body['logs_url']}\n\n" + json.dumps(body, indent=2)
    )
    try:
        await aiosmtplib.send(
            message,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.user,
            password=smtp.password,
            start_tls=smtp.starttls,
            timeout=timeout_seconds,
        )
    except aiosmtplib.SMTPResponseException as exc:
        # 4xx: the server asks to come back later; 5xx: it refuses.
        return SendResult(
            ok=False, retryable=400 <= exc.code < 500, status_code=exc.code, error=exc.message
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        return SendResult(ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}")
    return SendResult(ok=True, retryable=False, status_code=250)

"""Delivering the outbox: claim due notifications (FOR UPDATE SKIP LOCKED, a lease),
commit, send each with no database connection held, then record the attempt and its
outcome in a short transaction of its own. Timeouts, 429 (its Retry-After honoured) and
5xx are retried with exponential backoff and jitter until the notification's give-up
time; every attempt is a row the API shows.

At least once: a sender that dies between a send and its record leaves the row to be
sent again when its lease ends; the webhook-id header (the same on every attempt of a
notification) lets a receiver drop the duplicate, as Standard Webhooks intends."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from central_logger.alerts import channels, outbox_repository
from central_logger.alerts.evaluation import Clock, utc_now
from central_logger.alerts.models import AlertsConfig
from central_logger.alerts.schemas import DeliveryReport
from central_logger.db.tenancy import state_tenant

logger = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 10.0
LONGEST_RETRY_SECONDS = 3600.0
CLAIM_BATCH = 20


def backoff_seconds(attempt: int, *, jitter: Callable[[], float] = random.random) -> float:
    """Exponential from FIRST_RETRY_SECONDS, doubled per attempt up to an hour, with
    jitter (between half and all of it) so that many failing receivers are not all
    retried at the same instant."""
    ceiling = min(LONGEST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(attempt - 1, 0))
    return float(ceiling * (0.5 + 0.5 * jitter()))


def _secrets_in_force(row: RowMapping, now: datetime) -> tuple[str, ...]:
    found = [row["secret"]] if row["secret"] else []
    until = row["previous_secret_until"]
    if row["previous_secret"] and until is not None and until > now:
        found.append(row["previous_secret"])
    return tuple(found)


async def send(
    row: RowMapping, *, http: httpx.AsyncClient, config: AlertsConfig, now: datetime
) -> channels.SendResult:
    kind = row["channel_kind"]
    body = row["body"]
    if kind == "webhook":
        return await channels.send_webhook(
            http,
            row["target"],
            body,
            msg_id=f"msg_{row['id']}",
            secrets_in_force=_secrets_in_force(row, now),
            allow_private=config.allow_private_targets,
        )
    if kind == "slack":
        return await channels.send_slack(
            http, row["target"], body, allow_private=config.allow_private_targets
        )
    if kind == "email":
        recipients = [r for r in row["target"].split(",") if r]
        return await channels.send_email(
            config.smtp, recipients, body, timeout_seconds=config.delivery_timeout_seconds
        )
    return channels.SendResult(ok=False, retryable=False, error="the channel was deleted")


async def _record(
    engine: AsyncEngine,
    row: RowMapping,
    result: channels.SendResult,
    *,
    now: datetime,
    duration_ms: float,
    report: DeliveryReport,
) -> None:
    next_attempt_at = None
    if result.ok:
        outcome = "sent"
        report.sent += 1
    elif not result.retryable:
        outcome = "failed"
        report.failed += 1
    else:
        delay = backoff_seconds(row["attempts"])
        if result.retry_after_seconds is not None:
            delay = max(delay, result.retry_after_seconds)
        next_attempt_at = now + timedelta(seconds=delay)
        if next_attempt_at > row["give_up_at"]:
            outcome = "failed"
            report.failed += 1
        else:
            outcome = "retry"
            report.retried += 1
    error = result.error
    if outcome == "failed" and result.retryable:
        error = f"gave up: {error}"
    async with engine.begin() as conn:
        await state_tenant(conn, None)
        await outbox_repository.record_attempt(
            conn,
            outbox_id=row["id"],
            client_id=row["client_id"],
            attempted_at=now,
            outcome=outcome,
            status_code=result.status_code,
            error=error,
            duration_ms=duration_ms,
            next_attempt_at=next_attempt_at,
        )


async def deliver_due(
    engine: AsyncEngine,
    *,
    now: datetime,
    config: AlertsConfig,
    http: httpx.AsyncClient | None = None,
    limit: int = CLAIM_BATCH,
) -> DeliveryReport:
    """One pass: claim what is due, send it concurrently, record each attempt."""
    lease = timedelta(seconds=3 * config.delivery_timeout_seconds + 30)
    async with engine.begin() as conn:
        await state_tenant(conn, None)
        claimed = await outbox_repository.claim_due(conn, now=now, lease=lease, limit=limit)
    # Committed and the connection returned: nothing is held while the network answers.
    report = DeliveryReport(claimed=len(claimed))
    if not claimed:
        return report
    own_http = http is None
    client = http or httpx.AsyncClient(
        timeout=config.delivery_timeout_seconds, follow_redirects=False
    )

    async def one(row: RowMapping) -> None:
        started = time.monotonic()
        try:
            result = await send(row, http=client, config=config, now=now)
        except Exception as exc:  # a sender's own failure: recorded, retried
            result = channels.SendResult(
                ok=False, retryable=True, error=f"{type(exc).__name__}: {exc}"
            )
        duration_ms = (time.monotonic() - started) * 1000
        await _record(engine, row, result, now=now, duration_ms=duration_ms, report=report)

    try:
        await asyncio.gather(*(one(row) for row in claimed))
    finally:
        if own_http:
            await client.aclose()
    return report


async def run_delivery_loop(
    engine: AsyncEngine, *, config: AlertsConfig, clock: Clock = utc_now
) -> None:
    """Inside the service or `central-logger alerts run`: a pass every poll interval, at
    once again while passes come back full."""
    while True:
        try:
            report = await deliver_due(engine, now=clock(), config=config)
            if report.claimed >= CLAIM_BATCH:
                continue
        except Exception as exc:  # the database may be down; the next pass goes on
            logger.warning("alert delivery failed: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(config.delivery_poll_seconds)

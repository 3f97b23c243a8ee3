"""SQL for the outbox: notifications queued with the state changes they announce, claimed
one attempt at a time, and every attempt's record. A tenant's deliveries are those of its
own channels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.alerts.repository import owned
from central_logger.db import tables

channels = tables.alert_channels
outbox = tables.alert_outbox
attempts = tables.alert_delivery_attempts


async def insert_outbox(conn: AsyncConnection, *, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(outbox.insert(), rows)


async def claim_due(
    conn: AsyncConnection, *, now: datetime, lease: timedelta, limit: int
) -> Sequence[RowMapping]:
    """Claim up to `limit` due notifications for one attempt each: rows another sender
    has locked are skipped, and a claimed row is left alone until its lease ends (a
    sender that died mid-send leaves it to be retried then)."""
    due = (
        select(outbox.c.id)
        .where(
            outbox.c.status == "pending",
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
        )
        .order_by(outbox.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    claimed = (
        update(outbox)
        .where(outbox.c.id == due.c.id)
        .values(claimed_until=now + lease, attempts=outbox.c.attempts + 1)
        .returning(*outbox.c)
        .cte("claimed")
    )
    statement = select(
        claimed,
        channels.c.kind.label("channel_kind"),
        channels.c.target,
        channels.c.secret,
        channels.c.previous_secret,
        channels.c.previous_secret_until,
    ).outerjoin(channels, channels.c.id == claimed.c.channel_id)
    return (await conn.execute(statement)).mappings().all()


async def record_attempt(
    conn: AsyncConnection,
    *,
    outbox_id: int,
    client_id: str | None,
    attempted_at: datetime,
    outcome: str,
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    next_attempt_at: datetime | None,
) -> None:
    await conn.execute(
        attempts.insert().values(
            outbox_id=outbox_id,
            client_id=client_id,
            attempted_at=attempted_at,
            outcome=outcome,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    values: dict[str, Any] = {"claimed_until": None}
    if outcome == "sent":
        values.update(status="sent", sent_at=attempted_at)
    elif outcome == "failed":
        values.update(status="failed")
    else:
        values.update(next_attempt_at=next_attempt_at)
    await conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(**values))


async def select_deliveries(
    conn: AsyncConnection,
    *,
    provider: bool | None,
    event_id: int | None,
    channel_id: int | None,
    limit: int,
) -> tuple[Sequence[RowMapping], Sequence[RowMapping]]:
    """Outbox rows (newest first) and their attempts; a tenant's are those of its own
    channels."""
    statement = select(outbox).join(channels, channels.c.id == outbox.c.channel_id)
    statement = statement.where(*owned(channels, provider))
    if event_id is not None:
        statement = statement.where(outbox.c.event_id == event_id)
    if channel_id is not None:
        statement = statement.where(outbox.c.channel_id == channel_id)
    statement = statement.order_by(outbox.c.id.desc()).limit(limit)
    rows = (await conn.execute(statement)).mappings().all()
    ids = [r["id"] for r in rows]
    tried = (
        (
            await conn.execute(
                select(attempts)
                .where(attempts.c.outbox_id.in_(ids))
                .order_by(attempts.c.outbox_id, attempts.c.id)
            )
        )
        .mappings()
        .all()
        if ids
        else []
    )
    return rows, tried

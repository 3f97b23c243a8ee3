"""SQL for audit_events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.db.tables import audit_events


async def insert_events(conn: AsyncConnection, *, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(audit_events), list(rows))


async def select_events(
    conn: AsyncConnection,
    *,
    kind: str | None,
    since: datetime | None,
    limit: int,
    actor: str | None = None,
    client_id: str | None = None,
) -> Sequence[RowMapping]:
    query = select(*audit_events.c).order_by(
        audit_events.c.occurred_at.desc(), audit_events.c.id.desc()
    )
    if kind is not None:
        query = query.where(audit_events.c.kind == kind)
    if since is not None:
        query = query.where(audit_events.c.occurred_at >= since)
    if actor is not None:
        query = query.where(audit_events.c.actor == actor)
    if client_id is not None:
        query = query.where(audit_events.c.client_id == client_id)
    return (await conn.execute(query.limit(limit))).mappings().all()


async def delete_before(conn: AsyncConnection, *, cutoff: datetime) -> None:
    await conn.execute(delete(audit_events).where(audit_events.c.occurred_at < cutoff))

"""Audit rules.

Key changes are written in the transaction that makes them. Failed authentications
and admin reads can come in floods, so they are counted in memory per (minute, kind,
key prefix, tenant, address) and written by a background flush: at most
AUDIT_MAX_BUCKETS rows per flush, everything beyond folded into one overflow row per
kind. A flood of bad keys therefore costs a dictionary increment per request and at
most AUDIT_MAX_BUCKETS + 2 rows per flush, whatever its size; counts are kept exact.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central_logger.audit import repository
from central_logger.audit.schemas import AuditEvent, AuditKind, AuditPage, AuditQuery

logger = logging.getLogger(__name__)

OVERFLOW = "*overflow*"
_OVERFLOW_MINUTE = datetime.min.replace(tzinfo=UTC)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Bucket:
    minute: datetime
    kind: AuditKind
    actor: str | None
    client_id: str | None
    remote_addr: str | None
    path: str | None


class AuditRecorder:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_buckets: int,
        retention: timedelta | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._engine = engine
        self._max_buckets = max_buckets
        self._retention = retention
        self._counts: dict[_Bucket, int] = {}
        # Replaceable so a test can hold a flood inside one minute's buckets.
        self.clock = clock

    def _minute(self) -> datetime:
        return self.clock().replace(second=0, microsecond=0)

    def _count(self, bucket: _Bucket, count: int = 1) -> None:
        if bucket not in self._counts and len(self._counts) >= self._max_buckets:
            # One overflow bucket per kind whatever the minute: its row is dated at the flush.
            bucket = _Bucket(_OVERFLOW_MINUTE, bucket.kind, OVERFLOW, None, None, None)
        self._counts[bucket] = self._counts.get(bucket, 0) + count

    def auth_failed(self, *, key_prefix: str | None, remote_addr: str | None) -> None:
        self._count(
            _Bucket(self._minute(), AuditKind.AUTH_FAILED, key_prefix, None, remote_addr, None)
        )

    def admin_read(
        self, *, key_prefix: str, client_id: str | None, remote_addr: str | None, path: str
    ) -> None:
        self._count(
            _Bucket(self._minute(), AuditKind.ADMIN_READ, key_prefix, client_id, remote_addr, path)
        )

    @property
    def pending(self) -> int:
        return len(self._counts)

    async def flush(self) -> None:
        counts, self._counts = self._counts, {}
        if not counts:
            return
        now = self._minute()
        rows: list[dict[str, Any]] = [
            {
                "occurred_at": now if bucket.minute == _OVERFLOW_MINUTE else bucket.minute,
                "kind": bucket.kind.value,
                "actor": bucket.actor,
                "client_id": bucket.client_id,
                "remote_addr": bucket.remote_addr,
                "count": count,
                "detail": {"path": bucket.path} if bucket.path else None,
            }
            for bucket, count in counts.items()
        ]
        try:
            async with self._engine.begin() as conn:
                await repository.insert_events(conn, rows=rows)
                if self._retention is not None:
                    await repository.delete_before(conn, cutoff=self.clock() - self._retention)
        except Exception:
            # Put the counts back (bounded as ever) so an outage loses nothing.
            for bucket, count in counts.items():
                self._count(bucket, count)
            raise

    async def run_flusher(self, interval_seconds: float) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.flush()
            except Exception as exc:  # the database may be down; try again later
                logger.warning("could not write audit events: %s", type(exc).__name__)


async def record(
    conn: AsyncConnection,
    *,
    kind: AuditKind,
    actor: str | None,
    client_id: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One event, in the caller's transaction (key changes)."""
    await repository.insert_events(
        conn,
        rows=[{"kind": kind.value, "actor": actor, "client_id": client_id, "detail": detail}],
    )


async def list_events(conn: AsyncConnection, *, query: AuditQuery) -> AuditPage:
    rows = await repository.select_events(
        conn,
        kind=query.kind.value if query.kind else None,
        since=query.since,
        limit=query.limit,
    )
    return AuditPage(items=[AuditEvent.model_validate(dict(row)) for row in rows])

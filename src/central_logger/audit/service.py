"""Audit rules.

Key changes are written in the transaction that makes them. Failed authentications
and admin reads can come in floods, so they are counted in memory and written by a
background flush, in three bounded layers, with every count kept exact:

1. per (minute, kind, key prefix, tenant, address, path): the first AUDIT_MAX_BUCKETS
   distinct buckets of a flush, one row each;
2. beyond those, per (kind, address): one overflow row per address (actor
   `*overflow*`) with its count and a few of the prefixes it sent, for at most
   AUDIT_MAX_BUCKETS addresses, keeping the busiest: when a new address arrives and
   the table is full, the address with the smallest count is folded into layer 3;
3. beyond those, one overflow row per kind without an address.

So a noisy client trying thousands of prefixes cannot hide another address's attack:
that address keeps its own row (with its count and prefixes) unless more than
AUDIT_MAX_BUCKETS addresses fail more often than it does in one flush interval. A
flood costs a few dictionary operations per request and at most 2 x AUDIT_MAX_BUCKETS
+ 2 rows per flush, whatever its size.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central_logger.audit import repository
from central_logger.audit.schemas import AuditEvent, AuditKind, AuditPage, AuditQuery

logger = logging.getLogger(__name__)

OVERFLOW = "*overflow*"
# How many of the prefixes an address sent its overflow row names.
_SAMPLE_ACTORS = 5


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


@dataclass(frozen=True, slots=True)
class _Source:
    kind: AuditKind
    remote_addr: str | None


@dataclass(slots=True)
class _Overflow:
    count: int = 0
    actors: list[str] = field(default_factory=list)


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
        self._by_source: dict[_Source, _Overflow] = {}
        self._unattributed: dict[AuditKind, int] = {}
        # Replaceable so a test can hold a flood inside one minute's buckets.
        self.clock = clock

    def _minute(self) -> datetime:
        return self.clock().replace(second=0, microsecond=0)

    def _count(self, bucket: _Bucket, count: int = 1) -> None:
        if bucket in self._counts or len(self._counts) < self._max_buckets:
            self._counts[bucket] = self._counts.get(bucket, 0) + count
        else:
            actors = [bucket.actor] if bucket.actor else []
            self._count_source(_Source(bucket.kind, bucket.remote_addr), count, actors)

    def _count_source(self, source: _Source, count: int, actors: list[str]) -> None:
        entry = self._by_source.get(source)
        if entry is None:
            if len(self._by_source) >= self._max_buckets:
                # Keep the busiest addresses: the quietest one's count (exact) moves to
                # the row without an address. At most max_buckets comparisons.
                quietest = min(self._by_source, key=lambda s: self._by_source[s].count)
                folded = self._by_source.pop(quietest)
                self._unattributed[quietest.kind] = (
                    self._unattributed.get(quietest.kind, 0) + folded.count
                )
            entry = self._by_source[source] = _Overflow()
        entry.count += count
        for actor in actors:
            if len(entry.actors) < _SAMPLE_ACTORS and actor not in entry.actors:
                entry.actors.append(actor)

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
        """Rows the next flush writes."""
        return len(self._counts) + len(self._by_source) + len(self._unattributed)

    def _rows(
        self,
        counts: dict[_Bucket, int],
        by_source: dict[_Source, _Overflow],
        unattributed: dict[AuditKind, int],
    ) -> list[dict[str, Any]]:
        # Overflow rows are dated at the flush: they may span several minutes.
        now = self._minute()
        rows: list[dict[str, Any]] = [
            {
                "occurred_at": bucket.minute,
                "kind": bucket.kind.value,
                "actor": bucket.actor,
                "client_id": bucket.client_id,
                "remote_addr": bucket.remote_addr,
                "count": count,
                "detail": {"path": bucket.path} if bucket.path else None,
            }
            for bucket, count in counts.items()
        ]
        for source, entry in sorted(by_source.items(), key=lambda item: -item[1].count):
            rows.append(
                {
                    "occurred_at": now,
                    "kind": source.kind.value,
                    "actor": OVERFLOW,
                    "client_id": None,
                    "remote_addr": source.remote_addr,
                    "count": entry.count,
                    "detail": {
                        "reason": "more distinct buckets than AUDIT_MAX_BUCKETS in a flush",
                        "sample_actors": entry.actors,
                    },
                }
            )
        for kind, count in unattributed.items():
            rows.append(
                {
                    "occurred_at": now,
                    "kind": kind.value,
                    "actor": OVERFLOW,
                    "client_id": None,
                    "remote_addr": None,
                    "count": count,
                    "detail": {
                        "reason": "more overflowing addresses than AUDIT_MAX_BUCKETS in a flush"
                    },
                }
            )
        return rows

    async def flush(self) -> None:
        counts, self._counts = self._counts, {}
        by_source, self._by_source = self._by_source, {}
        unattributed, self._unattributed = self._unattributed, {}
        rows = self._rows(counts, by_source, unattributed)
        if not rows:
            return
        try:
            async with self._engine.begin() as conn:
                await repository.insert_events(conn, rows=rows)
                if self._retention is not None:
                    await repository.delete_before(conn, cutoff=self.clock() - self._retention)
        except Exception:
            # Put the counts back (bounded as ever) so an outage loses nothing.
            for bucket, count in counts.items():
                self._count(bucket, count)
            for source, entry in by_source.items():
                self._count_source(source, entry.count, entry.actors)
            for kind, count in unattributed.items():
                self._unattributed[kind] = self._unattributed.get(kind, 0) + count
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
        actor=query.actor,
        client_id=query.client_id,
    )
    return AuditPage(items=[AuditEvent.model_validate(dict(row)) for row in rows])

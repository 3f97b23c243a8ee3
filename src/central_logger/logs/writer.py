"""Group commit for ingestion: the requests that arrive while one insert is being
committed share the next insert and its commit.

Every ingestion request (one log or a batch) hands its validated rows to the
process's `LogWriter` and waits until they are committed, so a 2xx still means
stored. A few flusher tasks take whatever is waiting, insert it in one statement
and commit once. Under load a commit (and its WAL flush) is shared by dozens of
requests instead of paid by each, and a request costs one queue hand-off instead of
four round trips (BEGIN, tenant, INSERT, COMMIT). With no load, a request is
flushed at once, alone: nothing waits for a batch to fill.

Fairness between tenants: waiting requests are queued per tenant and taken
round-robin, one request per tenant per round, so a tenant's backlog never stands
before another tenant's next request. Small requests (single logs, small batches) have
their own queue and their own express flusher, in small flushes: a single log never
waits behind another tenant's large batches, nor shares their long insert.

Rows of several tenants share a statement, so the flush states the provider (admin)
for row-level security; each row carries the client_id its API key established.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from central_logger.db import partitions
from central_logger.db.tenancy import state_tenant
from central_logger.logs import events, repository
from central_logger.logs.models import LogRow, TenantRow
from central_logger.observability.metrics import observe_flush


@dataclass(slots=True)
class _Request:
    client_id: str
    rows: Sequence[LogRow]
    done: asyncio.Future[set[UUID]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class _FairQueue:
    """Waiting requests, one first-come-first-served line per tenant; a flush takes them
    round-robin across tenants, so one tenant's backlog never stands before another's
    next request."""

    def __init__(self) -> None:
        self._lines: dict[str, deque[_Request]] = {}
        # Tenants with waiting requests, in the order their turn comes.
        self._turns: deque[str] = deque()

    def __bool__(self) -> bool:
        return bool(self._turns)

    def append(self, request: _Request) -> None:
        line = self._lines.get(request.client_id)
        if line is None:
            line = self._lines[request.client_id] = deque()
            self._turns.append(request.client_id)
        line.append(request)

    def take(self, max_rows: int) -> list[_Request]:
        """Whole requests, one per tenant per round, up to `max_rows` rows (the first
        request alone may be larger); stops at the first that does not fit, so the
        next flush starts where this one stopped."""
        group: list[_Request] = []
        size = 0
        while self._turns:
            tenant = self._turns[0]
            line = self._lines[tenant]
            if group and size + len(line[0].rows) > max_rows:
                break
            request = line.popleft()
            group.append(request)
            size += len(request.rows)
            self._turns.popleft()
            if line:
                self._turns.append(tenant)  # its next request waits for the others' turn
            else:
                del self._lines[tenant]
        return group


class LogWriter:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        flushers: int = 2,
        max_rows: int = 5000,
        small_request_rows: int = 10,
        express_max_rows: int = 1000,
        publish: bool = True,
    ) -> None:
        self._engine = engine
        # The live tail: each insert's transaction also notifies the stored logs'
        # summaries (logs/events.py), so they are heard of only once committed.
        self._publish = publish
        self._flushers = flushers
        # A request is never split: a flush holds whole requests up to max_rows rows
        # (or one larger request alone).
        self._max_rows = max_rows
        # Requests of at most `small_request_rows` rows (single logs, small batches)
        # wait in their own queue, flushed by their own express flusher in flushes of at
        # most `express_max_rows` rows: a single log never waits behind, nor shares the
        # insert of, another tenant's 1000-log batches.
        self._small_request_rows = small_request_rows
        self._express_max_rows = min(express_max_rows, max_rows)
        self._small = _FairQueue()
        self._large = _FairQueue()
        self._arrived = asyncio.Event()
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []
        # The days known to have a partition: a flush asks for the others first.
        self._partition_days: set[date] = set()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run_express())]
        self._tasks += [asyncio.create_task(self._run()) for _ in range(self._flushers)]

    async def close(self) -> None:
        """Store what is waiting, then stop."""
        self._closing = True
        self._arrived.set()
        await asyncio.gather(*self._tasks)

    async def store(self, client_id: str, rows: Sequence[LogRow]) -> set[UUID]:
        """Insert `rows` for `client_id`; return the ids that were new. Returns after
        the commit. The rows are stored even if the caller stops waiting."""
        if not rows:
            return set()
        if not self._tasks:
            raise RuntimeError("LogWriter.start() was not called")
        request = _Request(client_id, rows)
        small = len(rows) <= self._small_request_rows
        (self._small if small else self._large).append(request)
        self._arrived.set()
        # Shielded: a client that hangs up does not cancel its rows' insert; nor is the
        # outcome nobody waits for any more reported as an unretrieved exception.
        request.done.add_done_callback(_retrieved)
        return await asyncio.shield(request.done)

    async def _next(self, take: Callable[[], list[_Request]]) -> list[_Request] | None:
        """The next group `take` finds, waiting for arrivals; None once closing and
        nothing is left."""
        while True:
            group = take()
            if group:
                return group
            if self._closing:
                return None
            # No await between `take` and `clear`: an arrival cannot slip in unseen.
            self._arrived.clear()
            await self._arrived.wait()

    async def _run_express(self) -> None:
        """Small requests only, round-robin by tenant, in small flushes."""
        while True:
            group = await self._next(lambda: self._small.take(self._express_max_rows))
            if group is None:
                return
            await self._flush(group)

    async def _run(self) -> None:
        """Large requests, round-robin by tenant; small ones too while no large one
        waits (then they are alone in a short flush, not behind a long one)."""
        while True:
            group = await self._next(self._take_for_bulk)
            if group is None:
                return
            await self._flush(group)

    def _take_for_bulk(self) -> list[_Request]:
        if self._large:
            return self._large.take(self._max_rows)
        return self._small.take(self._express_max_rows)

    async def _flush(self, group: list[_Request]) -> None:
        try:
            inserted = await self._insert(group)
        except (DataError, IntegrityError) as exc:
            if len(group) == 1:
                _fail(group[0], exc)
                return
            # One request's rows were refused by the database: store the others alone,
            # so only that request fails.
            for request in group:
                await self._flush([request])
            return
        except Exception as exc:
            for request in group:
                _fail(request, exc)
            return
        for request in group:
            new: set[UUID] = set()
            for row in request.rows:
                key = (request.client_id, row.id)
                # The same id from two requests in one flush: the first one stored it.
                if key in inserted:
                    inserted.discard(key)
                    new.add(row.id)
            if not request.done.done():
                request.done.set_result(new)

    async def _insert(self, group: list[_Request]) -> set[tuple[str, UUID]]:
        rows = [TenantRow(r.client_id, row) for r in group for row in r.rows]
        observe_flush(requests=len(group), rows=len(rows))
        days = {partitions.day_of(t.row.executed_at) for t in rows}
        await self._ensure_partitions(days - self._partition_days)
        try:
            return await self._insert_rows(rows)
        except IntegrityError as exc:
            if not partitions.is_missing_partition(exc):
                raise
        # A day this process had seen was dropped since (retention, then a longer
        # policy): make it again, once.
        self._partition_days.clear()
        await self._ensure_partitions(days)
        return await self._insert_rows(rows)

    async def _insert_rows(self, rows: list[TenantRow]) -> set[tuple[str, UUID]]:
        async with self._engine.begin() as conn:
            await state_tenant(conn, None)
            inserted = await repository.insert_rows(conn, rows)
            if self._publish and inserted:
                await repository.notify_stored(
                    conn,
                    channel=events.CHANNEL,
                    chunks=events.notification_chunks(_stored(rows, inserted)),
                )
            return inserted

    async def _ensure_partitions(self, days: set[date]) -> None:
        """A log for a day with no partition yet is stored all the same: the day's
        partition is made first (its own short transaction, so the lock that making
        one takes is not held through the insert)."""
        if not days:
            return
        async with self._engine.begin() as conn:
            await partitions.ensure_days(conn, days)
        self._partition_days |= days


def _stored(rows: list[TenantRow], inserted: set[tuple[str, UUID]]) -> list[TenantRow]:
    """The rows the insert stored: of a (client, id) given twice, the first."""
    left = set(inserted)
    stored = []
    for tenant_row in rows:
        key = (tenant_row.client_id, tenant_row.row.id)
        if key in left:
            left.discard(key)
            stored.append(tenant_row)
    return stored


def _fail(request: _Request, exc: BaseException) -> None:
    if not request.done.done():
        request.done.set_exception(exc)


def _retrieved(done: asyncio.Future[set[UUID]]) -> None:
    if not done.cancelled():
        done.exception()

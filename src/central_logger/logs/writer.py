"""Group commit for ingestion: the requests that arrive while one insert is being
committed share the next insert and its commit.

Every ingestion request (one log or a batch) hands its validated rows to the
process's `LogWriter` and waits until they are committed, so a 2xx still means
stored. A few flusher tasks take whatever is waiting, insert it in one statement
and commit once. Under load a commit (and its WAL flush) is shared by dozens of
requests instead of paid by each, and a request costs one queue hand-off instead of
four round trips (BEGIN, tenant, INSERT, COMMIT). With no load, a request is
flushed at once, alone: nothing waits for a batch to fill.

Rows of several tenants share a statement, so the flush states the provider (admin)
for row-level security; each row carries the client_id its API key established.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from central_logger.db.tenancy import state_tenant
from central_logger.logs import repository
from central_logger.logs.models import LogRow, TenantRow


@dataclass(slots=True)
class _Request:
    client_id: str
    rows: Sequence[LogRow]
    done: asyncio.Future[set[UUID]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class LogWriter:
    def __init__(self, engine: AsyncEngine, *, flushers: int = 2, max_rows: int = 5000) -> None:
        self._engine = engine
        self._flushers = flushers
        # A request is never split: a flush holds whole requests up to max_rows rows
        # (or one larger request alone).
        self._max_rows = max_rows
        self._waiting: deque[_Request] = deque()
        self._arrived = asyncio.Event()
        self._closing = False
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run()) for _ in range(self._flushers)]

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
        self._waiting.append(request)
        self._arrived.set()
        # Shielded: a client that hangs up does not cancel its rows' insert; nor is the
        # outcome nobody waits for any more reported as an unretrieved exception.
        request.done.add_done_callback(_retrieved)
        return await asyncio.shield(request.done)

    async def _run(self) -> None:
        while True:
            while not self._waiting:
                if self._closing:
                    return
                self._arrived.clear()
                await self._arrived.wait()
            group = [self._waiting.popleft()]
            size = len(group[0].rows)
            while self._waiting and size + len(self._waiting[0].rows) <= self._max_rows:
                size += len(self._waiting[0].rows)
                group.append(self._waiting.popleft())
            await self._flush(group)

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
        async with self._engine.begin() as conn:
            await state_tenant(conn, None)
            return await repository.insert_rows(conn, rows)


def _fail(request: _Request, exc: BaseException) -> None:
    if not request.done.done():
        request.done.set_exception(exc)


def _retrieved(done: asyncio.Future[set[UUID]]) -> None:
    if not done.cancelled():
        done.exception()

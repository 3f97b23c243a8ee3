"""Group commit, fair across tenants: one tenant's flood of large batches does not put
another tenant's single logs behind it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import groupby
from statistics import median

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.logs import repository
from central_logger.logs.models import LogRow, TenantRow
from central_logger.logs.writer import LogWriter
from tests.support.live import p95
from tests.support.tenants import TENANT_A, TENANT_B

LOADED_SECONDS = 5.0
# Large batches in flight at once: a backlog of SENDERS * 1000 rows, always.
SENDERS = 12


def a_row() -> LogRow:
    return LogRow(
        id=uuid.uuid4(),
        environment="production",
        workflow_version="1.0.0",
        ticket_id="TICKET-1",
        executed_at=datetime.now(UTC),
        execution_time_seconds=1.0,
        status="SUCCESS",
        category="billing_issue",
        resolution_status="resolved",
        metrics_json='{"confidence": 0.9}',
        payload_json='{"trace": [{"name": "classify", "duration_seconds": 1.5}]}',
    )


async def single_logs_as_b(writer: LogWriter, seconds: float) -> list[float]:
    timings: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = a_row()
        started = time.perf_counter()
        assert await writer.store(TENANT_B, [row]) == {row.id}
        timings.append(time.perf_counter() - started)
    return timings


async def test_one_tenants_large_batches_do_not_queue_anothers_single_logs(
    app: FastAPI,
) -> None:
    """At the group commit itself (the app's own writer, real inserts): what a request
    waits for once its rows are validated. Over HTTP in one process, the batches'
    validation on the event loop would be measured too."""
    writer: LogWriter = app.state.central_logger.log_writer
    await single_logs_as_b(writer, 0.5)  # warm
    unloaded = await single_logs_as_b(writer, 2.0)

    stored: list[int] = []
    stop = asyncio.Event()

    async def large_batches_as_a() -> None:
        while not stop.is_set():
            rows = [a_row() for _ in range(1000)]
            stored.append(len(await writer.store(TENANT_A, rows)))

    senders = [asyncio.create_task(large_batches_as_a()) for _ in range(SENDERS)]
    try:
        await asyncio.sleep(0.5)
        loaded = await single_logs_as_b(writer, LOADED_SECONDS)
    finally:
        stop.set()
        await asyncio.gather(*senders)

    assert sum(stored) >= 8000, "tenant A's batches were not flowing"
    before, typical, tail = p95(unloaded), median(loaded), p95(loaded)
    figures = (
        f"tenant B's single log: unloaded p95 {before * 1000:.1f} ms; under tenant A's "
        f"{SENDERS} senders of 1000-log batches ({sum(stored)} logs) median "
        f"{typical * 1000:.1f} ms, p95 {tail * 1000:.1f} ms"
    )
    # Queueing: B's log is never behind A's backlog (FIFO put it behind SENDERS * 1000
    # rows: a median of 1.6 s against a p95 of 27 ms unloaded on the 2-core box).
    assert typical <= 3 * before, figures
    # The tail left is PostgreSQL's, not the queue's: B's commit shares the WAL flush
    # and the 2 cores with A's inserts (measured 6-22x here, 76x before; see
    # docs/reliability.md). The bound is loose because the unloaded p95 is a few ms on
    # a shared 2-core machine; the median above is what tells the fix apart.
    assert tail <= 40 * before, figures


async def test_a_flush_takes_tenants_in_turn_and_small_requests_apart(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[list[tuple[str, int]]] = []
    real_insert = repository.insert_rows

    async def recording_insert(
        conn: AsyncConnection, rows: Sequence[TenantRow]
    ) -> set[tuple[str, uuid.UUID]]:
        # Each request's rows are contiguous: a run of one tenant's rows per request
        # (this test's requests of a tenant never sit side by side in a flush).
        runs = [(tenant, len(list(group))) for tenant, group in groupby(r.client_id for r in rows)]
        flushed.append(runs)
        return await real_insert(conn, rows)

    monkeypatch.setattr(repository, "insert_rows", recording_insert)
    writer = LogWriter(app.state.central_logger.engine, flushers=1, max_rows=300)
    writer.start()
    stores = [
        *(writer.store(TENANT_A, [a_row() for _ in range(100)]) for _ in range(5)),
        writer.store(TENANT_B, [a_row() for _ in range(100)]),
        writer.store(TENANT_B, [a_row()]),
    ]
    await asyncio.gather(*stores)
    await writer.close()
    large = [runs for runs in flushed if any(rows > 1 for _, rows in runs)]
    small = [runs for runs in flushed if all(rows == 1 for _, rows in runs)]
    # Tenant B's batch is in the first large flush, beside A's first, not after A's five.
    assert large[0] == [(TENANT_A, 100), (TENANT_B, 100), (TENANT_A, 100)]
    # Tenant B's single log was flushed on its own, not in a 300-row insert.
    assert small == [[(TENANT_B, 1)]]
    assert sum(rows for runs in flushed for _, rows in runs) == 601

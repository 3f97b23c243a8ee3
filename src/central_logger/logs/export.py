"""Export: every log the list's filters and range match, as a file (JSONL or CSV).

Memory stays flat however many rows match, and no database connection waits on a slow
client: the export is read in keyset pages, each in a short transaction of its own
(a read slot of the tenant's, then a pooled connection), and a page is handed to the
client only after its connection is back in the pool. The next page starts after the
last row sent, so a page is never read twice and rows committed meanwhile inside the
range may or may not appear, as with the list's cursor.

An export stops at `max_rows` (EXPORT_MAX_ROWS): the file then ends with a marker
saying so, with the cursor that continues it (`cursor=` on the next export). Without
the marker, the file is complete. A failure after the answer has started can no longer
change its status: the file then ends with a marker saying it failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import io
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central_logger.auth.tenancy import Tenancy
from central_logger.db import partitions
from central_logger.db.tenancy import state_tenant
from central_logger.logs import paging, repository
from central_logger.logs.models import LogQuery, Position
from central_logger.logs.schemas import LogExportParams
from central_logger.logs.service import decode_cursor, encode_cursor, log_query
from central_logger.ratelimit.concurrency import ConcurrencyBudget

logger = logging.getLogger(__name__)

# Rows per page: ~1 MB of 1 KB-payload logs, a few milliseconds of the database's time.
PAGE_ROWS = 1000

MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}

# The list's columns, in the list's order; metrics as JSON text.
CSV_COLUMNS = [
    "id",
    "client_id",
    "environment",
    "workflow_version",
    "ticket_id",
    "executed_at",
    "execution_time_seconds",
    "status",
    "category",
    "resolution_status",
    "metrics",
    "created_at",
]

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV
# injection"); a leading apostrophe makes it text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

ReadTransaction = Callable[[], contextlib.AbstractAsyncContextManager[AsyncConnection]]


def read_transaction(
    engine: AsyncEngine, slots: ConcurrencyBudget | None, client_id: str | None
) -> ReadTransaction:
    """A short read transaction with the tenant stated, within the tenant's read slots
    (READ_CONCURRENCY_PER_TENANT; the command line takes none): one per page."""

    @contextlib.asynccontextmanager
    async def begin() -> AsyncIterator[AsyncConnection]:
        async with contextlib.AsyncExitStack() as stack:
            if slots is not None:
                await stack.enter_async_context(slots.slot(client_id))
            conn = await stack.enter_async_context(engine.begin())
            await state_tenant(conn, client_id)
            yield conn

    return begin


@dataclasses.dataclass
class ExportOutcome:
    """What an export did, as it goes: for a progress bar and the last word."""

    rows: int = 0
    # Set when the cap cut the export short: the cursor that continues it.
    next_cursor: str | None = None
    truncated: bool = False
    failed: bool = False


def filename(params: LogExportParams, now: datetime) -> str:
    return f"logs-{now.strftime('%Y%m%dT%H%M%SZ')}.{params.format}"


def start_position(params: LogExportParams) -> Position | None:
    """The cursor's position; a cursor this service did not issue is a 422, raised
    before the answer starts."""
    return decode_cursor(params.cursor, order=params.order) if params.cursor else None


async def read_export_page(
    conn: AsyncConnection,
    *,
    query: LogQuery,
    newest_first: bool,
    after: Position | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` whole logs after `after`, window by window as the list reads
    (`paging.windows`: at most a month of partitions per statement)."""
    narrowed = paging.behind_cursor(after, query=query, newest_first=newest_first)
    spans = paging.windows(
        await partitions.days_for_reading(conn, custom_plans=query.q is not None),
        executed_from=narrowed.executed_from,
        executed_to=narrowed.executed_to,
        newest_first=newest_first,
    )
    rows: list[dict[str, Any]] = []
    for start, end in spans:
        window = dataclasses.replace(narrowed, executed_from=start, executed_to=end)
        rows += await repository.select_export_page(
            conn, query=window, newest_first=newest_first, after=after, limit=limit - len(rows)
        )
        if len(rows) >= limit:
            break
    return rows


async def count_matching(
    conn: AsyncConnection, *, tenancy: Tenancy, params: LogExportParams, limit: int
) -> int:
    """How many logs the export will write, counted up to `limit` (for a progress bar)."""
    page = await paging.read_page(
        conn,
        query=log_query(tenancy, params),
        newest_first=params.order == "desc",
        after=start_position(params),
        offset=0,
        limit=0,
        count_limit=limit,
    )
    return min(page.matching or 0, limit)


async def export_logs(
    begin: ReadTransaction,
    *,
    tenancy: Tenancy,
    params: LogExportParams,
    max_rows: int,
    page_rows: int = PAGE_ROWS,
    outcome: ExportOutcome | None = None,
) -> AsyncIterator[bytes]:
    """The file, a page at a time. Each page's connection is returned before the page
    is yielded (so before the client reads it). `outcome` follows along."""
    outcome = outcome or ExportOutcome()
    query = log_query(tenancy, params)
    newest_first = params.order == "desc"
    after = start_position(params)
    encode = _JsonlEncoder() if params.format == "jsonl" else _CsvEncoder()
    header = encode.header()
    if header:
        yield header

    async def read(position: Position | None, limit: int) -> list[dict[str, Any]]:
        async with begin() as conn:
            return await read_export_page(
                conn, query=query, newest_first=newest_first, after=position, limit=limit
            )

    written = 0
    # One row past the cap, to know whether the cap cut the export short.
    limit = min(page_rows, max_rows + 1)
    # The next page is read (its connection taken and given back) while this one is
    # encoded and sent: the database and the client's download overlap.
    pending = asyncio.ensure_future(read(after, limit))
    try:
        while True:
            try:
                rows = await pending
            except Exception as exc:
                logger.exception("an export failed after %d rows", written)
                outcome.failed = True
                failed = {"export": "failed", "rows": written, "detail": type(exc).__name__}
                yield encode.marker(failed)
                return
            truncated = written + len(rows) > max_rows
            if truncated:
                rows = rows[: max_rows - written]
            more = not truncated and len(rows) == limit
            if rows:
                after = Position(rows[-1]["executed_at"], rows[-1]["id"])
            if more:
                limit = min(page_rows, max_rows - written - len(rows) + 1)
                pending = asyncio.ensure_future(read(after, limit))
            if rows:
                written += len(rows)
                outcome.rows = written
                yield encode.rows(rows)
            if truncated:
                cursor = encode_cursor(after, order=params.order) if after else None
                outcome.truncated, outcome.next_cursor = True, cursor
                yield encode.marker(
                    {
                        "export": "truncated",
                        "rows": written,
                        "max_rows": max_rows,
                        "next_cursor": cursor,
                    }
                )
                return
            if not more:
                return
    finally:
        # The client left (or the export ended): a page still being read is not wanted.
        # Cancelled, its transaction is rolled back and its connection returned.
        pending.cancel()


class _JsonlEncoder:
    """One whole log a line; metrics and payload as the database keeps them."""

    def header(self) -> bytes:
        return b""

    def rows(self, rows: Iterable[dict[str, Any]]) -> bytes:
        lines = []
        for row in rows:
            for name in ("metrics", "payload"):
                text = row[name]
                row[name] = None if text is None else orjson.Fragment(text)
            lines.append(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))
        return b"".join(lines)

    def marker(self, marker: dict[str, Any]) -> bytes:
        return orjson.dumps(marker, option=orjson.OPT_APPEND_NEWLINE)


def neutralised(cell: str) -> str:
    """A text cell a spreadsheet would run as a formula, as plain text."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def _cell(value: Any) -> str | float:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return value
    return neutralised(str(value))


class _CsvEncoder:
    """The list's columns; metrics as JSON text (a cell of its own); RFC 4180 quoting."""

    def _encode(self, rows: Iterable[Iterable[Any]]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerows(rows)
        return buffer.getvalue().encode()

    def header(self) -> bytes:
        return self._encode([CSV_COLUMNS])

    def rows(self, rows: Iterable[dict[str, Any]]) -> bytes:
        return self._encode([_cell(row[name]) for name in CSV_COLUMNS] for row in rows)

    def marker(self, marker: dict[str, Any]) -> bytes:
        # One row, its first cell saying what happened; starts with '#', not a formula.
        said = ", ".join(f"{k}={v}" for k, v in marker.items() if k != "export")
        first = f"# export {marker['export']}: {said}"
        return self._encode([[first] + [""] * (len(CSV_COLUMNS) - 1)])

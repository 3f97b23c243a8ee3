"""Hot reads on the driver's own connection, beside SQLAlchemy's: the exception to
writing SQL in SQLAlchemy Core (the rule: `central_logger.db`), for the reads whose
speed docs/performance.md measures (list pages, metrics).

SQLAlchemy's execute path (cache keys, result proxies, text-only cursors) costs more
Python than the query costs PostgreSQL on the list and metrics reads. Those statements
go to psycopg directly, in the request's transaction: prepared, results in PostgreSQL's
binary format, rows as dicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg.rows import dict_row
from sqlalchemy.ext.asyncio import AsyncConnection

Row = Mapping[str, Any]


class BoundValues(dict[str, Any]):
    """The values of a statement built as text: `bind` keeps a value and returns its
    placeholder, so only fixed SQL is ever interpolated."""

    def bind(self, value: Any) -> str:
        name = f"p{len(self)}"
        self[name] = value
        return f"%({name})s"


async def fetch_rows(
    conn: AsyncConnection,
    statement: str,
    params: Mapping[str, Any],
    *,
    settings: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Run `statement` (psycopg's `%(name)s` placeholders) in the connection's
    transaction; `settings` (e.g. `SET LOCAL ...`) go before it in the same round trip."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    async with driver.cursor(binary=True, row_factory=dict_row) as cursor:
        async with driver.pipeline():
            for setting in settings:
                await driver.execute(setting)
            await cursor.execute(statement, params, prepare=True)
        rows: list[dict[str, Any]] = await cursor.fetchall()
        return rows

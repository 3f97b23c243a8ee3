"""SQL for workflow_logs and workflow_log_ids: insert, list, detail.

SQLAlchemy Core, except the measured hot paths (docs/performance.md, "Design choices
the figures rest on"): the ingest insert, and the list page with its bounded count.
Those are text with every value bound, run on the driver (`db.driver`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, Text, cast, insert, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.db.driver import BoundValues, fetch_rows
from central_logger.db.partitions import day_of, day_start
from central_logger.db.tables import SEARCH_DOCUMENT, rollup_daily, rollup_pending
from central_logger.db.tables import label_values as values
from central_logger.db.tables import workflow_log_ids as log_ids
from central_logger.db.tables import workflow_logs as logs
from central_logger.db.tenancy import tenants_in_table
from central_logger.logs.models import LogQuery, LogRow, Page, Position, TenantRow

# Hot path, on the driver (docs/performance.md: "One insert statement for one log or
# many thousands"). One statement for one row or many thousands, from any number of
# tenants: arrays in; the ids go into workflow_log_ids first, where an id already stored
# (a replay, whatever its other fields) is skipped, and only the logs whose id was new
# are inserted; RETURNING tells which. The caller passes each (client, id) once. The
# same text every time, so psycopg prepares it. The arrays go in PostgreSQL's binary
# format (`%(name)b`): psycopg escapes a text-format array element by element with a
# regular expression, which cost ~110 ms per thousand 1 KB payloads against ~1 ms in
# binary. The ids' arrays are sent twice rather than the logs' rows sorted or
# materialised to share them (measured: a third cheaper per 1000-log statement).
_INSERT_ROWS = """
    WITH new_ids AS (
        INSERT INTO workflow_log_ids (id, client_id, executed_at)
        SELECT * FROM unnest(%(ids)b::uuid[], %(client_ids)b::text[],
                             %(executed_ats)b::timestamptz[])
        ON CONFLICT (id, client_id) DO NOTHING
        RETURNING id, client_id
    )
    INSERT INTO workflow_logs (
        id, client_id, environment, workflow_version, ticket_id, executed_at,
        execution_time_seconds, status, category, resolution_status, metrics, payload)
    SELECT r.id, r.client_id, r.environment, r.workflow_version, r.ticket_id, r.executed_at,
           r.execution_time_seconds, r.status, r.category, r.resolution_status,
           r.metrics::jsonb, r.payload::jsonb
    FROM unnest(
        %(ids)b::uuid[], %(client_ids)b::text[], %(environments)b::text[],
        %(workflow_versions)b::text[], %(ticket_ids)b::text[], %(executed_ats)b::timestamptz[],
        %(execution_times)b::float8[], %(statuses)b::text[], %(categories)b::text[],
        %(resolution_statuses)b::text[], %(metrics)b::text[], %(payloads)b::text[]
    ) AS r(id, client_id, environment, workflow_version, ticket_id, executed_at,
           execution_time_seconds, status, category, resolution_status, metrics, payload)
    WHERE (r.id, r.client_id) IN (SELECT id, client_id FROM new_ids)
    RETURNING client_id, id
"""


async def insert_rows(conn: AsyncConnection, rows: Sequence[TenantRow]) -> set[tuple[str, UUID]]:
    """Insert what is new; return the (client_id, id) pairs that were inserted (the
    rest were stored already)."""
    if not rows:
        return set()
    # An id given twice in one statement: the first is the one stored, as if they had
    # come one after the other.
    first: dict[tuple[str, UUID], TenantRow] = {}
    for tenant_row in rows:
        first.setdefault((tenant_row.client_id, tenant_row.row.id), tenant_row)
    rows = list(first.values())
    logs_ = [t.row for t in rows]
    result = await conn.exec_driver_sql(
        _INSERT_ROWS,
        {
            "ids": [r.id for r in logs_],
            "client_ids": [t.client_id for t in rows],
            "environments": [r.environment for r in logs_],
            "workflow_versions": [r.workflow_version for r in logs_],
            "ticket_ids": [r.ticket_id for r in logs_],
            "executed_ats": [r.executed_at for r in logs_],
            "execution_times": [r.execution_time_seconds for r in logs_],
            "statuses": [r.status for r in logs_],
            "categories": [r.category for r in logs_],
            "resolution_statuses": [r.resolution_status for r in logs_],
            "metrics": [r.metrics_json for r in logs_],
            "payloads": [r.payload_json for r in logs_],
        },
    )
    return {(row.client_id, row.id) for row in result}


UNCATEGORIZED = "uncategorized"

SUMMARY_COLUMNS = [c for c in logs.c if c.name != "payload"]


class _Where:
    """The filters of a list query as SQL, with their bound parameters. Text, not Core:
    the list page is a measured hot path on the driver (docs/performance.md, "Hot reads
    leave SQLAlchemy's execute path")."""

    def __init__(self, query: LogQuery) -> None:
        self.params = BoundValues()
        self.bind = self.params.bind
        equal_to: dict[str, Any] = {
            "client_id": query.client_id,
            "environment": query.environment,
            "status": query.status,
            "category": None if query.category == UNCATEGORIZED else query.category,
            "ticket_id": query.ticket_id,
            "workflow_version": query.workflow_version,
            "resolution_status": query.resolution_status,
        }
        clauses = [
            f"{name} = {self.bind(value)}" for name, value in equal_to.items() if value is not None
        ]
        if query.category == UNCATEGORIZED:
            # The metrics group logs without a category under this name; so does the list.
            clauses.append(f"(category IS NULL OR category = {self.bind(UNCATEGORIZED)})")
        bounds = [
            ("executed_at >=", query.executed_from),
            ("executed_at <", query.executed_to),
            ("execution_time_seconds >=", query.min_execution_time),
            ("execution_time_seconds <=", query.max_execution_time),
        ]
        clauses.extend(f"{test} {self.bind(value)}" for test, value in bounds if value is not None)
        if query.q is not None:
            clauses.append(self._search(query.q))
        self.sql = " AND ".join(clauses) or "true"

    def _search(self, q: str) -> str:
        """A ticket id that starts with `q`, case-insensitively (a byte range over
        ix_workflow_logs_client_ticket_prefix), or a log whose words include every word
        of `q` (ix_workflow_logs_search)."""
        prefix = q.lower()
        ticket = f"lower(ticket_id) ~>=~ {self.bind(prefix)}"
        above = prefix_upper_bound(prefix)
        if above is not None:
            ticket += f" AND lower(ticket_id) ~<~ {self.bind(above)}"
        words = f"{SEARCH_DOCUMENT} @@ plainto_tsquery('simple', {self.bind(q)})"
        return f"(({ticket}) OR {words})"


def prefix_upper_bound(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix`, in byte order
    (UTF-8 keeps code point order): its last character incremented; None when there is
    none (every character is the highest code point). Python's lower() stands for
    PostgreSQL's: they agree but for a few letters outside ASCII."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if last == 0xD800:  # surrogates are not characters: skip them
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


_SUMMARY = ", ".join(c.name for c in SUMMARY_COLUMNS)


def _keyset(where: _Where, after: Position | None, *, newest_first: bool) -> str:
    """The rows after the keyset position `after` in list order, as an AND clause."""
    if after is None:
        return ""
    compare = "<" if newest_first else ">"
    bound = f"({where.bind(after.executed_at)}, {where.bind(after.id)})"
    return f" AND (executed_at, id) {compare} {bound}"


def _bounded_count(where: _Where, limit: int) -> str:
    """Counts matching rows up to `limit`: a total over millions of rows would scan them all."""
    return (
        f"SELECT count(*) FROM (SELECT 1 FROM workflow_logs WHERE {where.sql}"
        f" LIMIT {where.bind(limit)}) AS matching"
    )


async def select_page(
    conn: AsyncConnection,
    *,
    query: LogQuery,
    newest_first: bool,
    after: Position | None,
    offset: int,
    limit: int,
    count_limit: int,
) -> Page:
    """A page of summaries and, in the same statement, the rows matching the filters
    counted up to `count_limit`: one round trip instead of two (the count is an
    uncorrelated subquery, run once)."""
    where = _Where(query)
    matching = _bounded_count(where, count_limit)
    keyset = _keyset(where, after, newest_first=newest_first)
    direction = "DESC" if newest_first else "ASC"
    rows = await fetch_rows(
        conn,
        f"SELECT {_SUMMARY}, ({matching}) AS matching FROM workflow_logs"
        f" WHERE {where.sql}{keyset}"
        f" ORDER BY executed_at {direction}, id {direction}"
        f" OFFSET {where.bind(offset)} LIMIT {where.bind(limit)}",
        where.params,
    )
    counted = int(rows[0]["matching"]) if rows else None
    for row in rows:
        del row["matching"]
    return Page(items=rows, matching=counted)


async def select_days_holding(conn: AsyncConnection, *, query: LogQuery) -> set[date]:
    """The UTC days on which the query's tenant has logs that may match: from the daily
    rollups and the deltas not yet folded into them (every committed log is in one of
    the two), narrowed by the filters the rollups keep (environment, category, status)
    and the time bounds. A superset of the days with matching logs: the other filters
    (ticket, version, duration, ...) are not in the rollups. Only for one tenant."""
    equal_to = {"environment": query.environment, "status": query.status}
    params = BoundValues()
    clauses = [f"client_id = {params.bind(query.client_id)}"]
    clauses += [f"{name} = {params.bind(v)}" for name, v in equal_to.items() if v is not None]
    if query.category == UNCATEGORIZED:
        # The rollups keep a category-less log under ''.
        clauses.append(f"category IN ('', {params.bind(UNCATEGORIZED)})")
    elif query.category is not None:
        clauses.append(f"category = {params.bind(query.category)}")
    daily, pending = list(clauses), list(clauses)
    if query.executed_from is not None:
        first_day = day_start(day_of(query.executed_from))
        daily.append(f"day >= {params.bind(first_day)}")
        pending.append(f"hour >= {params.bind(first_day)}")
    if query.executed_to is not None:
        daily.append(f"day < {params.bind(query.executed_to)}")
        pending.append(f"hour < {params.bind(query.executed_to)}")
    rows = await fetch_rows(
        conn,
        "SELECT DISTINCT (day AT TIME ZONE 'UTC')::date AS day"
        f" FROM {rollup_daily.name} WHERE {' AND '.join(daily)}"
        " UNION SELECT DISTINCT (hour AT TIME ZONE 'UTC')::date"
        f" FROM {rollup_pending.name} WHERE {' AND '.join(pending)}",
        params,
    )
    return {row["day"] for row in rows}


async def count_matching(conn: AsyncConnection, *, query: LogQuery, limit: int) -> int:
    """For an empty page, which carries no count of its own."""
    where = _Where(query)
    (row,) = await fetch_rows(conn, _bounded_count(where, limit), where.params)
    return int(row["count"])


async def select_one(
    conn: AsyncConnection, *, client_id: str | None, log_id: UUID
) -> Sequence[RowMapping]:
    """The log with this id: one row for a tenant; across tenants (client_id None)
    two tenants may use the same id, so up to two rows tell the caller it is shared.
    workflow_log_ids gives the log's time, so only its day's partition is read."""
    statement = (
        select(*logs.c)
        .select_from(
            log_ids.join(
                logs,
                (logs.c.client_id == log_ids.c.client_id)
                & (logs.c.executed_at == log_ids.c.executed_at)
                & (logs.c.id == log_ids.c.id),
            )
        )
        .where(log_ids.c.id == log_id)
    )
    if client_id is not None:
        statement = statement.where(log_ids.c.client_id == client_id)
    statement = statement.order_by(log_ids.c.client_id).limit(2)
    return (await conn.execute(statement)).mappings().all()


async def select_holders(conn: AsyncConnection, *, log_id: UUID, limit: int) -> Sequence[str]:
    """The tenants that hold a log with this id (by the primary key's leading column)."""
    statement = (
        select(log_ids.c.client_id)
        .where(log_ids.c.id == log_id)
        .order_by(log_ids.c.client_id)
        .limit(limit)
    )
    return list((await conn.execute(statement)).scalars())


async def select_client_ids(conn: AsyncConnection) -> Sequence[str]:
    """Distinct tenants with logs, from the daily rollups and the deltas not yet folded
    into them (the fold moves both in one transaction, so together they hold every
    tenant); one probe per tenant each (db/tenancy.tenants_in_table). Not from the logs
    table: a loose scan there plans and probes every day partition (65-75 ms for a
    year of partitions and 4 tenants, against 1-2 ms here; PostgreSQL 15, loaded machine)."""
    daily = await tenants_in_table(conn, rollup_daily.name)
    pending = await tenants_in_table(conn, rollup_pending.name)
    return sorted(set(daily) | set(pending))


async def upsert_refreshing_payload(conn: AsyncConnection, *, client_id: str, row: LogRow) -> bool:
    """Insert a log, or refresh only the payload of the stored one: a log assembled from
    parts (an OpenTelemetry trace whose spans arrive in several requests) grows its
    trace, while the fields the metrics count (and its time, so its partition) stay as
    first stored. Two statements: when the id is taken by a transaction that commits
    while this one waits on it, the update's own, later snapshot sees that log.
    True when the log was new (inserted), False when its payload was refreshed."""
    claimed = await conn.execute(
        pg_insert(log_ids)
        .values(id=row.id, client_id=client_id, executed_at=row.executed_at)
        .on_conflict_do_nothing(index_elements=[log_ids.c.id, log_ids.c.client_id])
        .returning(log_ids.c.id)
    )
    # Serialised already (LogRow): cast, not encoded again.
    payload = cast(literal(row.payload_json, Text), JSONB)
    if claimed.first() is not None:
        await conn.execute(
            insert(logs).values(
                id=row.id,
                client_id=client_id,
                environment=row.environment,
                workflow_version=row.workflow_version,
                ticket_id=row.ticket_id,
                executed_at=row.executed_at,
                execution_time_seconds=row.execution_time_seconds,
                status=row.status,
                category=row.category,
                resolution_status=row.resolution_status,
                metrics=cast(literal(row.metrics_json, Text), JSONB),
                payload=payload,
            )
        )
        return True
    stored = (
        select(log_ids.c.executed_at)
        .where((log_ids.c.id == row.id) & (log_ids.c.client_id == client_id))
        .scalar_subquery()
    )
    await conn.execute(
        update(logs)
        .where(
            (logs.c.id == row.id) & (logs.c.client_id == client_id) & (logs.c.executed_at == stored)
        )
        .values(payload=payload)
    )
    return False


async def select_values(
    conn: AsyncConnection, *, client_id: str | None, field: str, limit: int
) -> list[str]:
    """The values the tenant's logs (every tenant's, for None) use in `field`, in
    order, up to `limit`: one primary-key range read of workflow_log_values."""
    statement = select(values.c.value).where(values.c.field == field)
    if client_id is not None:
        statement = statement.where(values.c.client_id == client_id)
    statement = statement.group_by(values.c.value).order_by(values.c.value).limit(limit)
    return list((await conn.execute(statement)).scalars())


# The export reads whole logs with their JSON as the database keeps it (text): decoding
# metrics and payload only to encode them again cost most of an export's CPU.
_EXPORT_COLUMNS = ", ".join(
    f"{c.name}::text AS {c.name}" if c.name in ("metrics", "payload") else c.name for c in logs.c
)


async def select_export_page(
    conn: AsyncConnection,
    *,
    query: LogQuery,
    newest_first: bool,
    after: Position | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` whole logs after the keyset position `after`, in list order; no
    count, no offset: an export walks the whole range page by page."""
    where = _Where(query)
    keyset = _keyset(where, after, newest_first=newest_first)
    direction = "DESC" if newest_first else "ASC"
    return await fetch_rows(
        conn,
        f"SELECT {_EXPORT_COLUMNS} FROM workflow_logs WHERE {where.sql}{keyset}"
        f" ORDER BY executed_at {direction}, id {direction} LIMIT {where.bind(limit)}",
        where.params,
    )


# One statement for every notification of a transaction (logs/events.py): delivered at
# commit, so a listener hears only of stored logs. now() is the transaction's start,
# which is what the logs' created_at default stores.
_NOTIFY = """
    SELECT pg_notify(%(channel)s,
        '{"x":"' || pg_current_xact_id() || '","c":' || u.number
        || ',"t":' || extract(epoch FROM now()) || ',"e":' || u.chunk || '}')
    FROM unnest(%(chunks)s::text[]) WITH ORDINALITY AS u(chunk, number)
"""


async def notify_stored(conn: AsyncConnection, *, channel: str, chunks: Sequence[str]) -> None:
    """Publish the summaries of the logs this transaction stored (JSON arrays, each
    small enough for one notification)."""
    if chunks:
        await conn.exec_driver_sql(_NOTIFY, {"channel": channel, "chunks": list(chunks)})

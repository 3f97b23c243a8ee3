"""SQL for the insights. Version comparison, trends and anomalies read the version rows
of the dimension rollups (dimension 'workflow_version', value the JSON array
[workflow_version, environment, category]) from the same sources, split the same way,
as the metrics API (metrics/service.py, split_range), so their figures agree with it;
failure patterns read failed runs' traces from workflow_logs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.db.driver import BoundValues, fetch_rows
from central_logger.insights.models import CellKey, CellTally, FailedRun, Tally
from central_logger.metrics.histogram import bucket_sql
from central_logger.metrics.models import Segments, Span

DIMENSION = "workflow_version"
_GENERIC_PLAN = "SET LOCAL plan_cache_mode = force_generic_plan"


@dataclass(frozen=True, slots=True)
class CellFilter:
    """Which cells to read; None is any."""

    client_id: str | None
    environment: str | None = None
    category: str | None = None
    versions: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Grain:
    """What the rows are summed by, in the database: the client, the version, the
    environment, the category, and time (None: the whole range; else the bucket width
    and its origin, e.g. an hour). What is not kept comes back as None or ''."""

    client: bool = False
    version: bool = False
    environment: bool = False
    category: bool = False
    bucket: tuple[timedelta, datetime] | None = None
    # Keys with fewer runs come back without their histogram (runs and failures only):
    # anomalies read no p95 below their minimum volume, and most cells are below it.
    histograms_from: int = 0


class _Statement:
    """One statement over the rows of a dimension: 'workflow_version' (value: the JSON
    array [version, environment, category]) or 'category' (value: the category; no
    version, no environment: 9x fewer rows where neither is asked for)."""

    def __init__(self, cells: CellFilter, dimension: str = DIMENSION) -> None:
        self.params = BoundValues()
        self.cells = cells
        self.dimension = dimension
        if dimension == DIMENSION:
            # (version, environment, category) of a rollup row.
            self.columns = ("(value::jsonb ->> 0)", "(value::jsonb ->> 1)", "(value::jsonb ->> 2)")
        else:
            if cells.environment is not None or cells.versions is not None:
                raise ValueError("category rows hold no environment or version")
            self.columns = ("NULL::text", "''", "value")

    def within(self, column: str, spans: Sequence[Span]) -> str:
        bind = self.params.bind
        return " OR ".join(f"({column} >= {bind(s)} AND {column} < {bind(e)})" for s, e in spans)

    def narrowing(self, version: str, environment: str, category: str) -> str:
        bind, cells = self.params.bind, self.cells
        clauses = []
        if cells.client_id is not None:
            clauses.append(f"client_id = {bind(cells.client_id)}")
        if cells.environment is not None:
            clauses.append(f"{environment} = {bind(cells.environment)}")
        if cells.category is not None:
            clauses.append(f"{category} = {bind(cells.category)}")
        if cells.versions is not None:
            clauses.append(f"{version} = ANY({bind(list(cells.versions))})")
        return "".join(f" AND {c}" for c in clauses)

    def rollup_part(self, level: str, time_column: str, spans: Sequence[Span], sign: int) -> str:
        kind = self.params.bind(self.dimension)
        return (
            f"SELECT client_id, {time_column} AS t, value, buckets, logs, runs, failed_runs, "
            f"{sign} AS sign FROM workflow_log_rollup_histogram_{level} "
            f"WHERE dimension = {kind} AND ({self.within(time_column, spans)})"
            + self.narrowing(*self.columns)
        )

    def raw_part(self, span: Span) -> str:
        """Raw logs of a partial hour, one row per (client, hour, cell, bucket)."""
        bucket = bucket_sql("execution_time_seconds")
        value = (
            "jsonb_build_array(workflow_version, environment, COALESCE(category, ''))::text"
            if self.dimension == DIMENSION
            else "COALESCE(category, '')"
        )
        return (
            "SELECT client_id, date_trunc('hour', executed_at, 'UTC') AS t, "
            f"{value} AS value, "
            "CASE WHEN execution_time_seconds IS NULL THEN '{}'::smallint[] "
            f"ELSE ARRAY[{bucket}::smallint] END AS buckets, "
            "CASE WHEN execution_time_seconds IS NULL THEN '{}'::bigint[] "
            "ELSE ARRAY[count(*)] END AS logs, "
            "count(*) AS runs, count(*) FILTER (WHERE status <> 'SUCCESS') AS failed_runs, "
            f"1 AS sign FROM workflow_logs WHERE {self.within('executed_at', [span])}"
            + self.narrowing("workflow_version", "environment", "COALESCE(category, '')")
            + f" GROUP BY client_id, t, value, execution_time_seconds IS NULL, {bucket}"
        )


def _parts(statement: _Statement, segments: Segments) -> list[str]:
    parts = []
    if segments.daily is not None:
        parts.append(statement.rollup_part("daily", "day", [segments.daily], 1))
    if segments.hourly:
        parts.append(statement.rollup_part("hourly", "hour", segments.hourly, 1))
    if segments.subtracted_hourly:
        parts.append(statement.rollup_part("hourly", "hour", segments.subtracted_hourly, -1))
    if segments.pending is not None:
        parts.append(statement.rollup_part("pending", "hour", [segments.pending], 1))
    parts.extend(statement.raw_part(span) for span in segments.raw)
    return parts


async def select_cell_tallies(
    conn: AsyncConnection, *, cells: CellFilter, segments: Segments, grain: Grain
) -> list[CellTally]:
    """The version rows of the segments summed by `grain` (subtracted hours taken away);
    a grain of categories alone, with no environment or version filter, reads the
    category rows instead (the same logs, fewer rows)."""
    by_category_alone = not (grain.version or grain.environment) and (
        cells.environment is None and cells.versions is None
    )
    statement = _Statement(cells, "category" if by_category_alone else DIMENSION)
    return await _summed(conn, statement, _parts(statement, segments), grain)


async def select_hourly_tallies(
    conn: AsyncConnection, *, cells: CellFilter, spans: Sequence[Span], grain: Grain
) -> list[CellTally]:
    """The version rows of whole hours in `spans` (hour-aligned), from the hourly level
    and the pending deltas, summed by `grain`: what anomalies read, only the hours they
    compare."""
    statement = _Statement(cells)
    parts = [
        statement.rollup_part("hourly", "hour", spans, 1),
        statement.rollup_part("pending", "hour", spans, 1),
    ]
    return await _summed(conn, statement, parts, grain)


def _keys(statement: _Statement, grain: Grain) -> list[str]:
    """(client_id, t, version, environment, category) as the grain keeps them."""
    time = "NULL::timestamptz"
    if grain.bucket is not None:
        width, origin = grain.bucket
        bind = statement.params.bind
        time = f"date_bin({bind(width)}::interval, t, {bind(origin)}::timestamptz)"
    version, environment, category = statement.columns
    return [
        "client_id" if grain.client else "''",
        time,
        version if grain.version else "NULL::text",
        environment if grain.environment else "''",
        category if grain.category else "''",
    ]


async def _summed(
    conn: AsyncConnection, statement: _Statement, parts: list[str], grain: Grain
) -> list[CellTally]:
    """The parts summed in the database: thousands of version rows become one row per
    kept key, and their histograms one merged histogram (a row's counts ride on its
    first bucket, or on a NULL bucket when it has none, as the fold does)."""
    if not parts:
        return []
    keys = _keys(statement, grain)
    named = ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))
    key_names = ", ".join(f"k{i}" for i in range(len(keys)))
    united = " UNION ALL ".join(parts)
    if grain.histograms_from > 0:
        threshold = statement.params.bind(grain.histograms_from)
        source = f"""(
                    SELECT {named}, buckets, logs, runs, failed_runs, sign,
                           sum(sign * runs) OVER (PARTITION BY {", ".join(keys)}) AS key_runs
                    FROM ({united}) AS united
                ) AS part
                LEFT JOIN LATERAL unnest(
                    CASE WHEN part.key_runs >= {threshold} THEN part.buckets END,
                    CASE WHEN part.key_runs >= {threshold} THEN part.logs END
                ) WITH ORDINALITY AS cell(bucket, logs, i) ON true"""
    else:
        source = f"""(
                    SELECT {named}, buckets, logs, runs, failed_runs, sign
                    FROM ({united}) AS united
                ) AS part
                LEFT JOIN LATERAL unnest(part.buckets, part.logs) WITH ORDINALITY
                    AS cell(bucket, logs, i) ON true"""
    rows = await _fetch_tuples(
        conn,
        f"""
        SELECT {key_names}, sum(runs)::bigint, sum(failed_runs)::bigint,
               COALESCE(array_agg(bucket::int ORDER BY bucket)
                        FILTER (WHERE bucket IS NOT NULL AND logs <> 0), '{{}}'),
               COALESCE(array_agg(logs ORDER BY bucket)
                        FILTER (WHERE bucket IS NOT NULL AND logs <> 0), '{{}}')
        FROM (
            SELECT {key_names}, bucket, sum(logs)::bigint AS logs, sum(runs) AS runs,
                   sum(failed_runs) AS failed_runs
            FROM (
                SELECT {key_names}, cell.bucket, part.sign * cell.logs AS logs,
                       CASE WHEN cell.i IS NULL OR cell.i = 1
                            THEN part.sign * part.runs ELSE 0 END AS runs,
                       CASE WHEN cell.i IS NULL OR cell.i = 1
                            THEN part.sign * part.failed_runs ELSE 0 END AS failed_runs
                FROM {source}
            ) AS cells
            GROUP BY {key_names}, bucket
        ) AS buckets
        GROUP BY {key_names}
        HAVING sum(runs) <> 0
        """,
        statement.params,
    )
    tallies = []
    for client_id, start, version, environment, category, runs, failed, buckets, logs in rows:
        histogram = dict(zip(buckets, logs, strict=True))
        key = CellKey(client_id, version, environment, category)
        tallies.append(CellTally(key, start, Tally(runs, failed, histogram)))
    return tallies


async def _fetch_tuples(
    conn: AsyncConnection, statement: str, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """As db/driver.fetch_rows, as tuples: psycopg builds those in C, where a dict per
    row cost more than the rest of reading the rows (thousands of rows per request)."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    async with driver.cursor(binary=True) as cursor:
        async with driver.pipeline():
            await driver.execute(_GENERIC_PLAN)
            await cursor.execute(statement, params, prepare=True)
        rows: list[tuple[Any, ...]] = await cursor.fetchall()
        return rows


async def select_version_first_days(
    conn: AsyncConnection, *, client_id: str | None
) -> list[tuple[str, datetime]]:
    """Each version of the client (every client: all of them) with the first day it ran,
    from the daily version rows (every folded log has one)."""
    params = BoundValues()
    narrowing = f" AND client_id = {params.bind(client_id)}" if client_id is not None else ""
    rows = await fetch_rows(
        conn,
        "SELECT value::jsonb ->> 0 AS version, min(day) AS first_day "
        "FROM workflow_log_rollup_histogram_daily "
        f"WHERE dimension = {params.bind(DIMENSION)}{narrowing} "
        "AND value::jsonb ->> 0 IS NOT NULL GROUP BY 1",
        params,
    )
    return [(r["version"], r["first_day"]) for r in rows]


def _failed_runs_statement(
    *,
    client_id: str | None,
    start: datetime,
    end: datetime,
    environment: str | None,
    category: str | None,
    limit: int,
) -> tuple[str, BoundValues]:
    params = BoundValues()
    clauses = [
        f"executed_at >= {params.bind(start)}",
        f"executed_at < {params.bind(end)}",
        "status <> 'SUCCESS'",
    ]
    if client_id is not None:
        clauses.append(f"client_id = {params.bind(client_id)}")
    if environment is not None:
        clauses.append(f"environment = {params.bind(environment)}")
    if category is not None:
        clauses.append(f"category = {params.bind(category)}")
    statement = f"""
        SELECT id::text AS id, client_id, executed_at, workflow_version, category, status,
               failing.step ->> 'name' AS step,
               COALESCE(failing.step ->> 'error', payload ->> 'error') AS error
        FROM workflow_logs
        LEFT JOIN LATERAL (
            SELECT step FROM jsonb_array_elements(
                CASE WHEN jsonb_typeof(payload -> 'trace') = 'array'
                     THEN payload -> 'trace' ELSE '[]'::jsonb END
            ) WITH ORDINALITY AS steps(step, i)
            WHERE jsonb_typeof(step) = 'object' AND step ->> 'status' = 'error'
            ORDER BY i LIMIT 1
        ) AS failing ON true
        WHERE {" AND ".join(clauses)}
        ORDER BY executed_at DESC
        LIMIT {params.bind(limit)}
        """
    return statement, params


async def select_failed_runs(
    conn: AsyncConnection,
    *,
    client_id: str | None,
    start: datetime,
    end: datetime,
    environment: str | None,
    category: str | None,
    limit: int,
) -> list[FailedRun]:
    """The newest `limit` failed runs of the range, with the first failing step of their
    trace (payload.trace[*].status = 'error') and its error text."""
    statement, params = _failed_runs_statement(
        client_id=client_id,
        start=start,
        end=end,
        environment=environment,
        category=category,
        limit=limit,
    )
    rows = await fetch_rows(conn, statement, params)
    return [
        FailedRun(
            id=r["id"],
            client_id=r["client_id"],
            executed_at=r["executed_at"],
            version=r["workflow_version"],
            category=r["category"],
            status=r["status"],
            step=r["step"],
            error=r["error"],
        )
        for r in rows
    ]


async def select_failure_signatures(
    conn: AsyncConnection,
    *,
    client_id: str | None,
    start: datetime,
    end: datetime,
    environment: str | None,
    category: str | None,
    limit: int,
) -> list[tuple[str | None, str | None, str]]:
    """The distinct (failing step, error text, status) of the newest `limit` failed runs
    of the range: what "seen before" needs, without a row per run."""
    statement, params = _failed_runs_statement(
        client_id=client_id,
        start=start,
        end=end,
        environment=environment,
        category=category,
        limit=limit,
    )
    rows = await fetch_rows(
        conn, f"SELECT DISTINCT step, error, status FROM ({statement}) AS failed", params
    )
    return [(r["step"], r["error"], r["status"]) for r in rows]

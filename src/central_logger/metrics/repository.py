"""SQL for the metrics. A range is read from the cheapest source that is exact for
each part of it: daily rollups for whole days, hourly rollups for whole hours, the
pending deltas not yet folded into either, and raw rows for the partial hours at
the ends. Two kinds of rollup: count rows per (environment, category, status), and
dimension rows per environment or per category, which hold the buckets with logs as
arrays beside that value's counts. Every part of a view is read by one statement, so
all share one snapshot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.db.driver import BoundValues, Row, fetch_rows
from central_logger.metrics.histogram import BUCKETS, bucket_sql
from central_logger.metrics.models import CategoryRows, MetricsQuery, OverviewRows, Segments, Span

_MEASURES = ["runs", "failed_runs", "time_count", "time_sum"]
# The rollups' column types, so raw sums (numeric for bigint) do not turn the counts
# of every part into numeric.
_SUM_CAST = {
    "runs": "::bigint",
    "failed_runs": "::bigint",
    "time_count": "::bigint",
    "time_sum": "",
}
Dimension = Literal["environment", "category"]


class _Statement:
    """The bound parameters of one statement, shared by all of its parts."""

    def __init__(self) -> None:
        self.params = BoundValues()
        self.bind = self.params.bind

    def within(self, time_column: str, spans: Sequence[Span]) -> str:
        return " OR ".join(
            f"({time_column} >= {self.bind(start)} AND {time_column} < {self.bind(end)})"
            for start, end in spans
        )

    def narrowing(self, query: MetricsQuery, *, environment_column: str | None) -> str:
        clauses = []
        if query.client_id is not None:
            clauses.append(f"client_id = {self.bind(query.client_id)}")
        if query.environment is not None and environment_column is not None:
            clauses.append(f"{environment_column} = {self.bind(query.environment)}")
        return "".join(f" AND {c}" for c in clauses)

    def counts(self, query: MetricsQuery) -> str:
        """A UNION ALL of (t, environment, status, runs, failed_runs, time_count,
        time_sum) over every source of the range, for the overview's splits (the
        categories view reads dimension rows)."""
        segments = query.segments
        selects = [
            f"SELECT {time_column} AS t, environment, status, "
            f"{', '.join(f'{sign}{m} AS {m}' for m in _MEASURES)} "
            f"FROM workflow_log_rollup_{level} WHERE ({self.within(time_column, spans)})"
            f"{self.narrowing(query, environment_column='environment')}"
            for level, time_column, spans, sign in _rollup_spans(segments)
        ]
        # One SELECT per raw span: each is an index-only scan of the covering index on
        # (client_id, executed_at). An OR of the spans made a bitmap heap scan that
        # visited a heap page per log (0.7 ms against 0.2 ms for a 7-day range, measured).
        selects.extend(
            "SELECT date_trunc('hour', executed_at, 'UTC') AS t, environment, status, 1 AS runs, "
            "(status <> 'SUCCESS')::int AS failed_runs, "
            "(execution_time_seconds IS NOT NULL)::int AS time_count, "
            "COALESCE(execution_time_seconds, 0) AS time_sum "
            f"FROM workflow_logs WHERE {self.within('executed_at', [span])}"
            f"{self.narrowing(query, environment_column='environment')}"
            for span in segments.raw
        )
        return " UNION ALL ".join(selects)

    def dimension_rows(self, query: MetricsQuery, dimension: Dimension) -> str:
        """A UNION ALL of (value, buckets, logs, runs, failed_runs, time_count, time_sum):
        the buckets holding logs with a duration, ascending, how many each holds, and the
        counts of all the value's logs; several rows may share a value."""
        segments = query.segments
        raw = segments.raw
        if dimension == "category" and query.environment is not None:
            # Category histograms are not kept per environment (that would multiply
            # their rows by the environments): this rarer view reads raw rows for the
            # whole range (the raw edges and the whole hours between them).
            raw = [*raw, *([segments.pending] if segments.pending else [])]
            segments = Segments(raw=raw)
        # Histograms by environment are narrowed by their value.
        environment = "value" if dimension == "environment" else None
        selects = [
            f"SELECT value, buckets, {_NEGATED_LOGS if sign else 'logs'} AS logs, "
            f"{', '.join(f'{sign}{m} AS {m}' for m in _MEASURES)} "
            f"FROM workflow_log_rollup_histogram_{level} "
            f"WHERE dimension = {self.bind(dimension)} AND ({self.within(time_column, spans)})"
            f"{self.narrowing(query, environment_column=environment)}"
            for level, time_column, spans, sign in _rollup_spans(segments)
        ]
        if raw:
            value = "environment" if dimension == "environment" else "COALESCE(category, '')"
            edges = " UNION ALL ".join(
                f"SELECT {value} AS value, status, execution_time_seconds, "
                "CASE WHEN execution_time_seconds IS NOT NULL "
                f"THEN {bucket_sql('execution_time_seconds')} END AS bucket "
                f"FROM workflow_logs WHERE {self.within('executed_at', [span])}"
                f"{self.narrowing(query, environment_column='environment')}"
                for span in raw
            )
            # A NULL bucket holds the logs without a duration: counted, not in the arrays.
            selects.append(
                "SELECT value, "
                "COALESCE(array_agg(bucket::smallint ORDER BY bucket) "
                "FILTER (WHERE bucket IS NOT NULL), '{}') AS buckets, "
                "COALESCE(array_agg(runs ORDER BY bucket) "
                "FILTER (WHERE bucket IS NOT NULL), '{}') AS logs, "
                f"{', '.join(f'sum({m}){_SUM_CAST[m]} AS {m}' for m in _MEASURES)} FROM ("
                "SELECT value, bucket, count(*) AS runs, "
                "count(*) FILTER (WHERE status <> 'SUCCESS') AS failed_runs, "
                "count(execution_time_seconds) AS time_count, "
                "COALESCE(sum(execution_time_seconds), 0) AS time_sum "
                f"FROM ({edges}) AS edge GROUP BY 1, 2"
                ") AS cells GROUP BY value"
            )
        return " UNION ALL ".join(selects)


# A subtracted histogram row: its counts negated, element by element in order.
_NEGATED_LOGS = (
    "ARRAY(SELECT -n FROM unnest(logs) WITH ORDINALITY AS cell(n, i) ORDER BY i)::bigint[]"
)


def _rollup_spans(segments: Segments) -> list[tuple[str, str, list[Span], str]]:
    """(level, time column, spans, sign) of each rollup part the range reads; the sign
    is '-' for the hours subtracted from a day read whole."""
    levels = []
    if segments.daily is not None:
        levels.append(("daily", "day", [segments.daily], ""))
    if segments.hourly:
        levels.append(("hourly", "hour", segments.hourly, ""))
    if segments.subtracted_hourly:
        levels.append(("hourly", "hour", segments.subtracted_hourly, "-"))
    if segments.pending is not None:
        levels.append(("pending", "hour", [segments.pending], ""))
    return levels


# The statements are long to plan and their best plan does not depend on the range's
# values; a generic plan of the prepared statement halves their latency (measured).
_GENERIC_PLAN = "SET LOCAL plan_cache_mode = force_generic_plan"


async def _fetch(conn: AsyncConnection, statement: str, params: Mapping[str, Any]) -> Sequence[Row]:
    """The metrics reads are a measured hot path, built as text and run on the driver
    (docs/performance.md, "Metrics rows in binary"). Binary results matter here: psycopg
    parses the histogram arrays in text format element by element (30-day categories at
    5M logs, 395 rows: 4 ms to fetch in text, 0.6 ms in binary, measured)."""
    return await fetch_rows(conn, statement, params, settings=[_GENERIC_PLAN])


def _add_up(rows: Iterable[Row], name: str) -> dict[str, list[int]]:
    """Histograms per `name`, added up from rows of (buckets, logs) arrays."""
    histograms: dict[str, list[int]] = {}
    for row in rows:
        counts = histograms.setdefault(row[name], [0] * BUCKETS)
        for bucket, logs in zip(row["buckets"], row["logs"], strict=True):
            counts[bucket] += logs
    return histograms


async def select_overview(
    conn: AsyncConnection, *, query: MetricsQuery, bucket: timedelta, origin: datetime
) -> OverviewRows:
    """Totals, the status, environment and series splits, and the execution-time
    histogram, from one statement (one snapshot)."""
    statement = _Statement()
    counts = statement.counts(query)
    histograms = statement.dimension_rows(query, "environment")
    rows = await _fetch(
        conn,
        f"""
                SELECT
                    CASE
                        WHEN GROUPING(status) = 0 THEN 'status'
                        WHEN GROUPING(environment) = 0 THEN 'environment'
                        WHEN GROUPING(bucket_start) = 0 THEN 'series'
                        ELSE 'total'
                    END AS grouping_set,
                    status, environment, bucket_start,
                    sum(runs)::bigint AS runs, sum(failed_runs)::bigint AS failed_runs,
                    sum(time_count)::bigint AS time_count, sum(time_sum) AS time_sum,
                    NULL::smallint[] AS buckets, NULL::bigint[] AS logs
                FROM (SELECT *, date_bin(%(bucket)s, t, %(origin)s) AS bucket_start
                      FROM ({counts}) AS parts) AS binned
                GROUP BY GROUPING SETS ((), (status), (environment), (bucket_start))
                HAVING sum(runs) <> 0  -- what subtracted hours leave empty
                UNION ALL
                SELECT 'histogram', NULL, '', NULL, NULL, NULL, NULL, NULL, buckets, logs
                FROM ({histograms}) AS parts
                """,
        {**statement.params, "bucket": bucket, "origin": origin},
    )
    splits = [r for r in rows if r["grouping_set"] != "histogram"]
    # The environment filter is in the statement: the histogram is of every row read.
    histogram = _add_up((r for r in rows if r["grouping_set"] == "histogram"), "environment")
    return OverviewRows(splits, histogram.get("", [0] * BUCKETS))


async def select_categories(conn: AsyncConnection, *, query: MetricsQuery) -> CategoryRows:
    """Counts per category, and each category's histogram, from one statement. Logs
    without a category count as 'uncategorized'."""
    # A category's dimension rows carry its counts beside its histogram: 12 rows per
    # client-day instead of 141 count rows (one per environment, category and status).
    # Narrowed by environment, they are computed from raw rows (`dimension_rows`).
    statement = _Statement()
    rows = await _fetch(
        conn,
        f"""
                SELECT COALESCE(NULLIF(value, ''), 'uncategorized') AS category,
                       buckets, logs, {", ".join(_MEASURES)}
                FROM ({statement.dimension_rows(query, "category")}) AS parts
                """,
        statement.params,
    )
    totals: dict[str, list[Any]] = {}
    for row in rows:
        summed = totals.setdefault(row["category"], [0, 0, 0, 0.0])
        for i, measure in enumerate(_MEASURES):
            summed[i] += row[measure]
    counts = [
        {
            "category": category,
            "runs": int(runs),
            "successful_runs": int(runs - failed_runs),
            "time_count": int(time_count),
            "time_sum": time_sum,
        }
        for category, (runs, failed_runs, time_count, time_sum) in totals.items()
        if runs != 0  # what subtracted hours leave empty
    ]
    return CategoryRows(
        counts=sorted(counts, key=lambda r: (-r["runs"], r["category"])),
        histograms=_add_up(rows, "category"),
    )


async def fold_pending_rollups(conn: AsyncConnection) -> int | None:
    """Fold pending deltas into the rollups (db/sql/workflow_log_rollup_fold.sql), unless
    another process is doing it now."""
    lock = func.pg_try_advisory_xact_lock(func.hashtext("rollup_fold"))
    if not (await conn.execute(select(lock))).scalar_one():
        return None
    return int((await conn.execute(select(func.workflow_log_rollup_fold()))).scalar_one())


async def vacuum_pending_rollups(conn: AsyncConnection) -> None:
    """Reclaim the rows folds deleted (outside a transaction: VACUUM cannot run in one).
    PostgreSQL skips, with a warning, a table this connection's role does not own.
    Text: VACUUM is a utility statement, which Core has no construct for."""
    await conn.execute(
        text("VACUUM workflow_log_rollup_pending, workflow_log_rollup_histogram_pending")
    )

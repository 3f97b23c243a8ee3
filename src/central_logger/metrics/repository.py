"""SQL for the metrics. A range is read from the cheapest source that is exact for
each part of it: daily rollups for whole days, hourly rollups for whole hours, the
pending deltas not yet folded into either, and raw rows for the partial hours at
the ends. All parts are read by one statement, so they share one snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.metrics.histogram import COLUMNS, bucket_sql

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Segments:
    """Where each part of a range is read from; spans are half-open [start, end)."""

    raw: list[Span] = field(default_factory=list)
    hourly: list[Span] = field(default_factory=list)
    daily: Span | None = None
    pending: Span | None = None


@dataclass(frozen=True, slots=True)
class MetricsQuery:
    client_id: str | None
    segments: Segments
    environment: str | None


_MEASURES = ["runs", "failed_runs", "time_count", "time_sum", *COLUMNS]
# The bucket is computed once per raw row (NULL without a duration), then spread.
_RAW_HISTOGRAM = ", ".join(f"COALESCE((bucket = {i})::int, 0)" for i in range(len(COLUMNS)))


class _Parts:
    """Builds the UNION ALL of every source, with its bound parameters."""

    def __init__(self, query: MetricsQuery) -> None:
        self.params: dict[str, Any] = {}
        self.selects: list[str] = []
        self._query = query

    def _bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def _narrowing(self) -> str:
        clauses = []
        if self._query.client_id is not None:
            clauses.append(f"client_id = {self._bind(self._query.client_id)}")
        if self._query.environment is not None:
            clauses.append(f"environment = {self._bind(self._query.environment)}")
        return "".join(f" AND {c}" for c in clauses)

    def _rollup(self, table: str, time_column: str, spans: Sequence[Span]) -> None:
        if not spans:
            return
        within = " OR ".join(
            f"({time_column} >= {self._bind(start)} AND {time_column} < {self._bind(end)})"
            for start, end in spans
        )
        self.selects.append(
            f"SELECT {time_column} AS t, environment, category, status, {', '.join(_MEASURES)} "
            f"FROM {table} WHERE ({within}){self._narrowing()}"
        )

    def _raw(self, spans: Sequence[Span]) -> None:
        if not spans:
            return
        within = " OR ".join(
            f"(executed_at >= {self._bind(start)} AND executed_at < {self._bind(end)})"
            for start, end in spans
        )
        self.selects.append(
            "SELECT t, environment, category, status, 1 AS runs, "
            "(status <> 'SUCCESS')::int AS failed_runs, "
            "(execution_time_seconds IS NOT NULL)::int AS time_count, "
            f"COALESCE(execution_time_seconds, 0) AS time_sum, {_RAW_HISTOGRAM} "
            "FROM (SELECT date_trunc('hour', executed_at, 'UTC') AS t, environment, "
            "COALESCE(category, '') AS category, status, execution_time_seconds, "
            "CASE WHEN execution_time_seconds IS NOT NULL THEN "
            f"{bucket_sql('execution_time_seconds')} END AS bucket "
            f"FROM workflow_logs WHERE ({within}){self._narrowing()}) AS raw"
        )

    def build(self) -> str:
        segments = self._query.segments
        if segments.daily is not None:
            self._rollup("workflow_log_rollup_daily", "day", [segments.daily])
        self._rollup("workflow_log_rollup_hourly", "hour", segments.hourly)
        if segments.pending is not None:
            self._rollup("workflow_log_rollup_pending", "hour", [segments.pending])
        self._raw(segments.raw)
        return " UNION ALL ".join(self.selects)


# The statements are long to plan and their best plan does not depend on the range's
# values; a generic plan of the prepared statement halves their latency (measured).
_GENERIC_PLAN = text("SET LOCAL plan_cache_mode = force_generic_plan")

_HISTOGRAM_SUMS = ", ".join(f"COALESCE(sum({c}), 0)" for c in COLUMNS)


async def select_overview(
    conn: AsyncConnection, *, query: MetricsQuery, bucket: timedelta, origin: datetime
) -> Sequence[RowMapping]:
    """Totals, the status and environment splits and the series, plus one row with the
    whole range's histogram (`grouping_set` = 'histogram')."""
    parts = _Parts(query)
    union = parts.build()
    params = {**parts.params, "bucket": bucket, "origin": origin}
    await conn.execute(_GENERIC_PLAN)
    statement = text(
        f"""
        WITH parts AS MATERIALIZED ({union})
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
            NULL::bigint[] AS histogram
        FROM (SELECT *, date_bin(:bucket, t, :origin) AS bucket_start FROM parts) AS binned
        GROUP BY GROUPING SETS ((), (status), (environment), (bucket_start))
        UNION ALL
        SELECT 'histogram', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
               ARRAY[{_HISTOGRAM_SUMS}]::bigint[]
        FROM parts
        """
    )
    return (await conn.execute(statement, params)).mappings().all()


async def select_categories(conn: AsyncConnection, *, query: MetricsQuery) -> Sequence[RowMapping]:
    parts = _Parts(query)
    union = parts.build()
    await conn.execute(_GENERIC_PLAN)
    statement = text(
        f"""
        SELECT COALESCE(NULLIF(category, ''), 'uncategorized') AS category,
               sum(runs)::bigint AS runs,
               (sum(runs) - sum(failed_runs))::bigint AS successful_runs,
               sum(time_count)::bigint AS time_count, sum(time_sum) AS time_sum,
               ARRAY[{_HISTOGRAM_SUMS}]::bigint[] AS histogram
        FROM ({union}) AS parts
        GROUP BY 1
        ORDER BY runs DESC, category
        """
    )
    return (await conn.execute(statement, parts.params)).mappings().all()


async def fold_pending_rollups(conn: AsyncConnection) -> int | None:
    """Fold pending deltas into the rollups, unless another process is doing it now."""
    locked = (
        await conn.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('rollup_fold'))"))
    ).scalar_one()
    if not locked:
        return None
    return int((await conn.execute(text("SELECT workflow_log_rollup_fold()"))).scalar_one())

"""SQL for the metrics. A range is read from the cheapest source that is exact for
each part of it: daily rollups for whole days, hourly rollups for whole hours, the
pending deltas not yet folded into either, and raw rows for the partial hours at
the ends. All parts of a figure are read by one statement, so they share one
snapshot. Counts and histograms are separate rollups (histograms are sparse: one
row per bucket that holds logs) and separate statements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.metrics.histogram import BUCKETS, bucket_sql

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


_MEASURES = ["runs", "failed_runs", "time_count", "time_sum"]
Dimension = Literal["environment", "category"]


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

    def _narrowing(self, *, environment_column: str | None = "environment") -> str:
        clauses = []
        if self._query.client_id is not None:
            clauses.append(f"client_id = {self._bind(self._query.client_id)}")
        if self._query.environment is not None and environment_column is not None:
            clauses.append(f"{environment_column} = {self._bind(self._query.environment)}")
        return "".join(f" AND {c}" for c in clauses)

    def _within(self, time_column: str, spans: Sequence[Span]) -> str:
        return " OR ".join(
            f"({time_column} >= {self._bind(start)} AND {time_column} < {self._bind(end)})"
            for start, end in spans
        )

    def _counts_rollup(self, table: str, time_column: str, spans: Sequence[Span]) -> None:
        if spans:
            self.selects.append(
                f"SELECT {time_column} AS t, environment, category, status, "
                f"{', '.join(_MEASURES)} FROM {table} "
                f"WHERE ({self._within(time_column, spans)}){self._narrowing()}"
            )

    def _counts_raw(self, spans: Sequence[Span]) -> None:
        if spans:
            self.selects.append(
                "SELECT date_trunc('hour', executed_at, 'UTC') AS t, environment, "
                "COALESCE(category, '') AS category, status, 1 AS runs, "
                "(status <> 'SUCCESS')::int AS failed_runs, "
                "(execution_time_seconds IS NOT NULL)::int AS time_count, "
                "COALESCE(execution_time_seconds, 0) AS time_sum "
                f"FROM workflow_logs WHERE ({self._within('executed_at', spans)})"
                f"{self._narrowing()}"
            )

    def counts(self) -> str:
        """(t, environment, category, status, runs, failed_runs, time_count, time_sum)."""
        segments = self._query.segments
        if segments.daily is not None:
            self._counts_rollup("workflow_log_rollup_daily", "day", [segments.daily])
        self._counts_rollup("workflow_log_rollup_hourly", "hour", segments.hourly)
        if segments.pending is not None:
            self._counts_rollup("workflow_log_rollup_pending", "hour", [segments.pending])
        self._counts_raw(segments.raw)
        return " UNION ALL ".join(self.selects)

    def _histogram_rollup(
        self, level: str, time_column: str, spans: Sequence[Span], dimension: Dimension
    ) -> None:
        if spans:
            # Histograms by environment are filtered by their value; those by category
            # are not kept per environment (the service reads raw rows for that case).
            environment = "value" if dimension == "environment" else None
            self.selects.append(
                f"SELECT value, bucket, logs FROM workflow_log_rollup_histogram_{level} "
                f"WHERE dimension = {self._bind(dimension)} "
                f"AND ({self._within(time_column, spans)})"
                f"{self._narrowing(environment_column=environment)}"
            )

    def _histogram_raw(self, spans: Sequence[Span], dimension: Dimension) -> None:
        if spans:
            value = "environment" if dimension == "environment" else "COALESCE(category, '')"
            self.selects.append(
                f"SELECT {value} AS value, {bucket_sql('execution_time_seconds')} AS bucket, "
                "1 AS logs FROM workflow_logs WHERE execution_time_seconds IS NOT NULL "
                f"AND ({self._within('executed_at', spans)}){self._narrowing()}"
            )

    def histograms(self, dimension: Dimension) -> str:
        """(value, bucket, logs): logs with a duration per bucket, sparse."""
        segments = self._query.segments
        if (
            dimension == "category"
            and self._query.environment is not None
            and (segments.daily or segments.hourly or segments.pending)
        ):
            raise ValueError("category histograms are not kept per environment; read raw rows")
        if segments.daily is not None:
            self._histogram_rollup("daily", "day", [segments.daily], dimension)
        self._histogram_rollup("hourly", "hour", segments.hourly, dimension)
        if segments.pending is not None:
            self._histogram_rollup("pending", "hour", [segments.pending], dimension)
        self._histogram_raw(segments.raw, dimension)
        return " UNION ALL ".join(self.selects)


# The statements are long to plan and their best plan does not depend on the range's
# values; a generic plan of the prepared statement halves their latency (measured).
_GENERIC_PLAN = text("SET LOCAL plan_cache_mode = force_generic_plan")


async def select_overview(
    conn: AsyncConnection, *, query: MetricsQuery, bucket: timedelta, origin: datetime
) -> Sequence[RowMapping]:
    """Totals, and the status, environment and series splits (`grouping_set`)."""
    parts = _Parts(query)
    union = parts.counts()
    params = {**parts.params, "bucket": bucket, "origin": origin}
    await conn.execute(_GENERIC_PLAN)
    statement = text(
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
            sum(time_count)::bigint AS time_count, sum(time_sum) AS time_sum
        FROM (SELECT *, date_bin(:bucket, t, :origin) AS bucket_start FROM ({union}) AS parts)
            AS binned
        GROUP BY GROUPING SETS ((), (status), (environment), (bucket_start))
        """
    )
    return (await conn.execute(statement, params)).mappings().all()


async def select_categories(conn: AsyncConnection, *, query: MetricsQuery) -> Sequence[RowMapping]:
    parts = _Parts(query)
    union = parts.counts()
    await conn.execute(_GENERIC_PLAN)
    statement = text(
        f"""
        SELECT COALESCE(NULLIF(category, ''), 'uncategorized') AS category,
               sum(runs)::bigint AS runs,
               (sum(runs) - sum(failed_runs))::bigint AS successful_runs,
               sum(time_count)::bigint AS time_count, sum(time_sum) AS time_sum
        FROM ({union}) AS parts
        GROUP BY 1
        ORDER BY runs DESC, category
        """
    )
    return (await conn.execute(statement, parts.params)).mappings().all()


async def select_histograms(
    conn: AsyncConnection, *, query: MetricsQuery, dimension: Dimension
) -> dict[str, list[int]]:
    """Execution-time histograms per value of `dimension` ('' is no category)."""
    parts = _Parts(query)
    union = parts.histograms(dimension)
    await conn.execute(_GENERIC_PLAN)
    statement = text(
        f"SELECT value, bucket, sum(logs)::bigint AS logs FROM ({union}) AS parts GROUP BY 1, 2"
    )
    histograms: dict[str, list[int]] = {}
    for value, bucket, logs in await conn.execute(statement, parts.params):
        histograms.setdefault(value, [0] * BUCKETS)[bucket] = int(logs)
    return histograms


async def fold_pending_rollups(conn: AsyncConnection) -> int | None:
    """Fold pending deltas into the rollups, unless another process is doing it now."""
    locked = (
        await conn.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('rollup_fold'))"))
    ).scalar_one()
    if not locked:
        return None
    return int((await conn.execute(text("SELECT workflow_log_rollup_fold()"))).scalar_one())

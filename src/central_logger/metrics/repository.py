"""SQL for the metrics: aggregates over the covering (client_id, executed_at) index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import RowMapping, text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class MetricsQuery:
    client_id: str | None
    start: datetime
    end: datetime
    environment: str | None


def _where(query: MetricsQuery) -> tuple[str, dict[str, object]]:
    clauses = ["executed_at >= :start", "executed_at < :end"]
    params: dict[str, object] = {"start": query.start, "end": query.end}
    if query.client_id is not None:
        clauses.append("client_id = :client_id")
        params["client_id"] = query.client_id
    if query.environment is not None:
        clauses.append("environment = :environment")
        params["environment"] = query.environment
    return " AND ".join(clauses), params


async def select_overview_groups(
    conn: AsyncConnection, *, query: MetricsQuery, bucket: timedelta, origin: datetime
) -> Sequence[RowMapping]:
    """One scan for the totals, the status split, the environment split and the series.
    `grouping_set` says which of them a row belongs to."""
    where, params = _where(query)
    statement = text(
        f"""
        SELECT
            CASE
                WHEN GROUPING(status) = 0 THEN 'status'
                WHEN GROUPING(environment) = 0 THEN 'environment'
                WHEN GROUPING(bucket_start) = 0 THEN 'series'
                ELSE 'total'
            END AS grouping_set,
            status,
            environment,
            bucket_start,
            count(*) AS runs,
            count(*) FILTER (WHERE status <> 'SUCCESS') AS failed_runs,
            avg(execution_time_seconds) AS avg_time
        FROM (
            SELECT status, environment, execution_time_seconds,
                   date_bin(:bucket, executed_at, :origin) AS bucket_start
            FROM workflow_logs
            WHERE {where}
        ) AS matching
        GROUP BY GROUPING SETS ((), (status), (environment), (bucket_start))
        """  # noqa: S608 - only fixed clauses are interpolated; values are bound
    )
    return (
        (await conn.execute(statement, {**params, "bucket": bucket, "origin": origin}))
        .mappings()
        .all()
    )


async def select_percentiles(conn: AsyncConnection, *, query: MetricsQuery) -> RowMapping:
    where, params = _where(query)
    statement = text(
        f"""
        SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99])
                   WITHIN GROUP (ORDER BY execution_time_seconds) AS percentiles
        FROM workflow_logs
        WHERE {where}
        """  # noqa: S608
    )
    return (await conn.execute(statement, params)).mappings().one()


async def select_categories(conn: AsyncConnection, *, query: MetricsQuery) -> Sequence[RowMapping]:
    where, params = _where(query)
    statement = text(
        f"""
        SELECT COALESCE(category, 'uncategorized') AS category,
               count(*) AS runs,
               count(*) FILTER (WHERE status = 'SUCCESS') AS successful_runs,
               avg(execution_time_seconds) AS avg_time,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY execution_time_seconds) AS p95_time
        FROM workflow_logs
        WHERE {where}
        GROUP BY COALESCE(category, 'uncategorized')
        ORDER BY runs DESC, category
        """  # noqa: S608
    )
    return (await conn.execute(statement, params)).mappings().all()

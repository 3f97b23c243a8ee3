"""The rules of the metrics: ranges, buckets, rates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.auth.tenancy import Tenancy
from central_logger.http.problems import FieldError, validation_problem
from central_logger.metrics import repository
from central_logger.metrics.repository import MetricsQuery
from central_logger.metrics.schemas import (
    Categories,
    CategoryStats,
    EnvironmentCount,
    Overview,
    RangeParams,
    SeriesPoint,
    StatusCount,
)

DEFAULT_DAYS = 7
MAX_RANGE = timedelta(days=366)
# Ranges up to this long get an hourly series; longer ones a daily one.
HOURLY_UP_TO = timedelta(days=2)


def resolve_range(params: RangeParams, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    if params.days is not None and (params.from_ is not None or params.to is not None):
        raise validation_problem(
            [FieldError(field="query.days", reason="send either days or from/to, not both")]
        )
    end = params.to or now or datetime.now(UTC)
    start = params.from_ or end - timedelta(days=params.days or DEFAULT_DAYS)
    if start >= end:
        raise validation_problem([FieldError(field="query.from", reason="must be before to")])
    if end - start > MAX_RANGE:
        raise validation_problem(
            [FieldError(field="query.from", reason="the range may span at most 366 days")]
        )
    return start, end


def _floor(moment: datetime, bucket: timedelta) -> datetime:
    moment = moment.astimezone(UTC)
    if bucket == timedelta(hours=1):
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


async def overview(conn: AsyncConnection, *, tenancy: Tenancy, params: RangeParams) -> Overview:
    start, end = resolve_range(params)
    bucket = timedelta(hours=1) if end - start <= HOURLY_UP_TO else timedelta(days=1)
    # Buckets are aligned to whole UTC hours or days, so series from different ranges agree.
    origin = _floor(start, bucket)
    query = MetricsQuery(tenancy.client_id, start, end, params.environment)
    rows = await repository.select_overview_groups(conn, query=query, bucket=bucket, origin=origin)
    percentiles = (await repository.select_percentiles(conn, query=query))["percentiles"] or [
        None,
        None,
        None,
    ]

    total = next((r for r in rows if r["grouping_set"] == "total"), None)
    runs = int(total["runs"]) if total else 0
    failed = int(total["failed_runs"]) if total else 0
    by_status = sorted(
        (
            StatusCount(status=r["status"], runs=r["runs"])
            for r in rows
            if r["grouping_set"] == "status"
        ),
        key=lambda s: (-s.runs, s.status),
    )
    by_environment = sorted(
        (
            EnvironmentCount(
                environment=r["environment"], runs=r["runs"], failed_runs=r["failed_runs"]
            )
            for r in rows
            if r["grouping_set"] == "environment"
        ),
        key=lambda e: (-e.runs, e.environment),
    )
    counted = {
        _floor(r["bucket_start"], bucket): (int(r["runs"]), int(r["failed_runs"]))
        for r in rows
        if r["grouping_set"] == "series"
    }
    series = []
    moment = origin
    while moment < end:
        bucket_runs, bucket_failed = counted.get(moment, (0, 0))
        series.append(SeriesPoint(start=moment, runs=bucket_runs, failed_runs=bucket_failed))
        moment += bucket

    return Overview(
        from_=start,
        to=end,
        total_runs=runs,
        successful_runs=runs - failed,
        failed_runs=failed,
        success_rate=_rate(runs - failed, runs),
        avg_execution_time_seconds=total["avg_time"] if total else None,
        p50_execution_time_seconds=percentiles[0],
        p95_execution_time_seconds=percentiles[1],
        p99_execution_time_seconds=percentiles[2],
        by_status=by_status,
        by_environment=by_environment,
        bucket="hour" if bucket == timedelta(hours=1) else "day",
        series=series,
    )


async def categories(conn: AsyncConnection, *, tenancy: Tenancy, params: RangeParams) -> Categories:
    start, end = resolve_range(params)
    rows = await repository.select_categories(
        conn, query=MetricsQuery(tenancy.client_id, start, end, params.environment)
    )
    total = sum(int(r["runs"]) for r in rows)
    return Categories(
        from_=start,
        to=end,
        total_runs=total,
        categories=[
            CategoryStats(
                category=r["category"],
                runs=r["runs"],
                successful_runs=r["successful_runs"],
                failed_runs=r["runs"] - r["successful_runs"],
                success_rate=r["successful_runs"] / r["runs"],
                avg_execution_time_seconds=r["avg_time"],
                p95_execution_time_seconds=r["p95_time"],
                share=r["runs"] / total,
            )
            for r in rows
        ],
    )

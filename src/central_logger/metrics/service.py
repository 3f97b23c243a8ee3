"""The rules of the metrics: ranges, buckets, rates."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central_logger.auth.tenancy import Tenancy
from central_logger.db.driver import Row
from central_logger.db.tenancy import state_tenant
from central_logger.http.problems import FieldError, validation_problem
from central_logger.metrics import repository
from central_logger.metrics.histogram import percentile
from central_logger.metrics.models import MetricsQuery, Segments, Span
from central_logger.metrics.schemas import (
    Categories,
    CategoryStats,
    EnvironmentCount,
    Overview,
    RangeParams,
    SeriesPoint,
    StatusCount,
)
from central_logger.observability import metrics as observed

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
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
    if bucket == HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _ceil(moment: datetime, bucket: timedelta) -> datetime:
    floored = _floor(moment, bucket)
    return floored if floored == moment else floored + bucket


def split_range(start: datetime, end: datetime, *, whole_days: bool) -> Segments:
    """Whole days from the daily rollup (when allowed), whole hours from the hourly
    one, pending deltas for every whole hour, raw rows for the partial hours."""
    first_hour, last_hour = _ceil(start, HOUR), _floor(end, HOUR)
    if first_hour >= last_hour:
        return Segments(raw=[(start, end)])
    raw = [span for span in ((start, first_hour), (last_hour, end)) if span[0] < span[1]]
    first_day, last_day = _ceil(first_hour, DAY), _floor(last_hour, DAY)
    if whole_days and first_day < last_day:
        daily_start, daily_end = first_day, last_day
        hourly: list[Span] = []
        subtracted: list[Span] = []
        # Each partial day: its hours in the range, or the whole day less its hours
        # outside the range, whichever reads fewer hours.
        if first_hour < first_day:
            if _cheaper_to_subtract(first_day - first_hour):
                daily_start = first_day - DAY
                subtracted.append((daily_start, first_hour))
            else:
                hourly.append((first_hour, first_day))
        if last_day < last_hour:
            if _cheaper_to_subtract(last_hour - last_day):
                daily_end = last_day + DAY
                subtracted.append((last_hour, daily_end))
            else:
                hourly.append((last_day, last_hour))
        return Segments(raw, hourly, (daily_start, daily_end), (first_hour, last_hour), subtracted)
    return Segments(raw, [(first_hour, last_hour)], None, (first_hour, last_hour))


def _cheaper_to_subtract(hours_in_range: timedelta) -> bool:
    """A day's rows read whole cost about as much as one hour and a half of its hourly
    rows (a day holds more combinations of environment, category and status than an
    hour); so for a partial day of more than 13 hours, the day less the other hours
    reads fewer rows."""
    return hours_in_range > 13 * HOUR


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _average(time_sum: float | None, time_count: int | None) -> float | None:
    return float(time_sum) / time_count if time_count and time_sum is not None else None


async def overview(conn: AsyncConnection, *, tenancy: Tenancy, params: RangeParams) -> Overview:
    start, end = resolve_range(params)
    bucket = HOUR if end - start <= HOURLY_UP_TO else DAY
    # Buckets are aligned to whole UTC hours or days, so series from different ranges agree.
    origin = _floor(start, bucket)
    query = MetricsQuery(
        tenancy.client_id, split_range(start, end, whole_days=bucket == DAY), params.environment
    )
    found = await repository.select_overview(conn, query=query, bucket=bucket, origin=origin)
    rows, histogram = found.splits, found.histogram

    def of(grouping_set: str) -> list[Row]:
        return [r for r in rows if r["grouping_set"] == grouping_set]

    total = next(iter(of("total")), None)
    runs = int(total["runs"] or 0) if total else 0
    failed = int(total["failed_runs"] or 0) if total else 0
    counted = {
        _floor(r["bucket_start"], bucket): (int(r["runs"]), int(r["failed_runs"]))
        for r in of("series")
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
        avg_execution_time_seconds=_average(total["time_sum"], total["time_count"])
        if total
        else None,
        p50_execution_time_seconds=percentile(histogram, 0.5),
        p95_execution_time_seconds=percentile(histogram, 0.95),
        p99_execution_time_seconds=percentile(histogram, 0.99),
        by_status=sorted(
            (StatusCount(status=r["status"], runs=r["runs"]) for r in of("status")),
            key=lambda s: (-s.runs, s.status),
        ),
        by_environment=sorted(
            (
                EnvironmentCount(
                    environment=r["environment"], runs=r["runs"], failed_runs=r["failed_runs"]
                )
                for r in of("environment")
            ),
            key=lambda e: (-e.runs, e.environment),
        ),
        bucket="hour" if bucket == HOUR else "day",
        series=series,
    )


async def categories(conn: AsyncConnection, *, tenancy: Tenancy, params: RangeParams) -> Categories:
    start, end = resolve_range(params)
    query = MetricsQuery(
        tenancy.client_id, split_range(start, end, whole_days=True), params.environment
    )
    found = await repository.select_categories(conn, query=query)
    rows, histograms = found.counts, found.histograms
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
                avg_execution_time_seconds=_average(r["time_sum"], r["time_count"]),
                p95_execution_time_seconds=percentile(histograms.get(r["category"], []), 0.95),
                share=r["runs"] / total,
            )
            for r in rows
        ],
    )


async def fold_rollups(engine: AsyncEngine) -> int | None:
    """Fold pending deltas; None when another process holds the fold."""
    async with engine.begin() as conn:
        await state_tenant(conn, None)  # folding spans every tenant
        return await repository.fold_pending_rollups(conn)


async def run_rollup_folder(
    engine: AsyncEngine, maintenance: AsyncEngine | None, *, interval_seconds: float
) -> None:
    """Fold every `interval_seconds`; after a fold that moved deltas, vacuum the pending
    tables. Every fold deletes what they hold, and autovacuum visits at most once a
    minute: meanwhile every metrics query would read the dead rows (measured: 12-23 ms
    more per query after a load). `maintenance` connects as the tables' owner, which
    VACUUM requires; without it, autovacuum alone cleans up."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            folded = await fold_rollups(engine)
            observed.observe_fold(folded)
            if folded and maintenance is not None:
                async with maintenance.connect() as conn:
                    await repository.vacuum_pending_rollups(conn)
        except Exception as exc:  # the database may be down; metrics stay exact meanwhile
            observed.count_fold_failure()
            logger.warning("could not fold metric rollups: %s", type(exc).__name__)

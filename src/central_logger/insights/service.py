"""The rules of the insights: which rows each one reads, and the shape of its answer.
The methods themselves are pure functions beside this module (versions.py,
anomalies.py, patterns.py, statistics.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.auth.tenancy import Tenancy
from central_logger.http.problems import FieldError, validation_problem
from central_logger.insights import anomalies as anomaly_method
from central_logger.insights import patterns as pattern_method
from central_logger.insights import repository
from central_logger.insights import versions as version_method
from central_logger.insights.models import CellTally, Tally
from central_logger.insights.repository import CellFilter, Grain
from central_logger.insights.schemas import (
    Anomalies,
    AnomalyParams,
    AnomalyRead,
    CategoryTrend,
    InsightsRangeParams,
    PatternParams,
    PatternRead,
    Patterns,
    TrendPoint,
    Trends,
    VersionComparison,
    VersionDifference,
    VersionParams,
    Versions,
    VersionStats,
)
from central_logger.metrics import service as metrics
from central_logger.metrics.schemas import RangeParams

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
HOURLY_UP_TO = timedelta(days=2)
DEFAULT_ANOMALY_DAYS = 1
# Failed runs read for patterns, in the range and in the lookback before it.
PATTERN_SAMPLE = 5000
UNVERSIONED = "(none)"


def _resolve(params: InsightsRangeParams, *, default_days: int = 7) -> tuple[datetime, datetime]:
    """The range as the metrics API resolves it (same defaults, limits and errors)."""
    days = params.days
    if days is None and params.from_ is None and params.to is None:
        days = default_days
    return metrics.resolve_range(RangeParams(days=days, from_=params.from_, to=params.to))


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def _tallies(
    conn: AsyncConnection,
    cells: CellFilter,
    start: datetime,
    end: datetime,
    *,
    whole_days: bool,
    grain: Grain,
) -> list[CellTally]:
    segments = metrics.split_range(start, end, whole_days=whole_days)
    return await repository.select_cell_tallies(conn, cells=cells, segments=segments, grain=grain)


def _version_stats(summary: version_method.VersionSummary) -> VersionStats:
    interval = summary.success_rate_interval
    return VersionStats(
        version=summary.version,
        runs=summary.runs,
        successful_runs=summary.successful_runs,
        failed_runs=summary.runs - summary.successful_runs,
        success_rate=summary.success_rate,
        success_rate_low=interval[0] if interval else None,
        success_rate_high=interval[1] if interval else None,
        p50_execution_time_seconds=summary.p50,
        p95_execution_time_seconds=summary.p95,
        p99_execution_time_seconds=summary.p99,
    )


async def _previous_version(conn: AsyncConnection, client_id: str | None, version: str) -> str:
    """The version that started running last before `version` did."""
    first_days = dict(await repository.select_version_first_days(conn, client_id=client_id))
    started = first_days.get(version)
    earlier = [
        (day, name)
        for name, day in first_days.items()
        if name != version and (started is None or day <= started)
    ]
    if not earlier:
        raise validation_problem(
            [
                FieldError(
                    field="query.baseline", reason=f"no version ran before {version}; name one"
                )
            ]
        )
    return max(earlier)[1]


async def versions(conn: AsyncConnection, *, tenancy: Tenancy, params: VersionParams) -> Versions:
    if params.baseline is not None and params.version is None:
        raise validation_problem(
            [FieldError(field="query.version", reason="a baseline needs a version to compare")]
        )
    if params.baseline is not None and params.baseline == params.version:
        raise validation_problem(
            [FieldError(field="query.baseline", reason="must differ from version")]
        )
    start, end = _resolve(params)
    cells = CellFilter(tenancy.client_id, params.environment, params.category)
    per_version: dict[str, Tally] = {}
    by_version = Grain(version=True)
    for cell in await _tallies(conn, cells, start, end, whole_days=True, grain=by_version):
        per_version.setdefault(cell.key.version or UNVERSIONED, Tally()).add(cell.tally)
    summaries = {
        name: version_method.summarise(name, tally)
        for name, tally in per_version.items()
        if tally.runs != 0  # what subtracted hours leave empty
    }
    comparison = None
    if params.version is not None:
        baseline_name = params.baseline or await _previous_version(
            conn, tenancy.client_id, params.version
        )
        empty = Tally()
        candidate = summaries.get(params.version) or version_method.summarise(params.version, empty)
        baseline = summaries.get(baseline_name) or version_method.summarise(baseline_name, empty)
        difference = version_method.compare(baseline, candidate)
        comparison = VersionComparison(
            baseline=_version_stats(baseline),
            candidate=_version_stats(candidate),
            difference=VersionDifference(
                success_rate=difference.success_rate,
                success_rate_low=difference.interval[0] if difference.interval else None,
                success_rate_high=difference.interval[1] if difference.interval else None,
                p_value=difference.p_value,
                significant=difference.significant,
                p95_ratio=difference.p95_ratio,
                verdict=difference.verdict,
            ),
        )
    return Versions(
        from_=start,
        to=end,
        versions=[
            _version_stats(s)
            for s in sorted(summaries.values(), key=lambda s: (-s.runs, s.version))
        ],
        comparison=comparison,
    )


async def trends(conn: AsyncConnection, *, tenancy: Tenancy, params: InsightsRangeParams) -> Trends:
    start, end = _resolve(params)
    bucket = HOUR if end - start <= HOURLY_UP_TO else DAY
    origin = _floor_hour(start) if bucket == HOUR else _floor_hour(start).replace(hour=0)
    buckets = []
    moment = origin
    while moment < end:
        buckets.append(moment)
        moment += bucket
    cells = CellFilter(tenancy.client_id, params.environment, params.category)
    grain = Grain(category=True, bucket=(bucket, origin))
    tallies = await _tallies(conn, cells, start, end, whole_days=bucket == DAY, grain=grain)
    found = version_method.category_trends(
        tallies, buckets=buckets, middle=start + (end - start) / 2
    )
    return Trends(
        from_=start,
        to=end,
        bucket="hour" if bucket == HOUR else "day",
        categories=[
            CategoryTrend(
                category=t.category,
                runs=t.runs,
                first_half_success_rate=t.first_half_success_rate,
                second_half_success_rate=t.second_half_success_rate,
                success_rate_change=t.success_rate_change,
                p95_ratio=t.p95_ratio,
                points=[
                    TrendPoint(
                        start=p.start,
                        runs=p.runs,
                        success_rate=p.success_rate,
                        p95_execution_time_seconds=p.p95,
                    )
                    for p in t.points
                ],
            )
            for t in found
            if t.runs != 0
        ],
    )


async def detect_anomalies(
    conn: AsyncConnection,
    *,
    tenant: str | None,
    start: datetime,
    end: datetime,
    environment: str | None = None,
    category: str | None = None,
    settings: anomaly_method.Settings = anomaly_method.Settings(),
    now: datetime | None = None,
) -> list[anomaly_method.Anomaly]:
    """Unusual whole hours in [start, end) of one tenant (None: every tenant, for the
    provider), per environment and category; hours not yet over are not judged. For the
    API and for alert rules alike; the transaction must have stated its tenant."""
    first = _floor_hour(start)
    # Every hour the range touches, up to the last one that is over.
    end_hour = _floor_hour(end) if _floor_hour(end) == end else _floor_hour(end) + HOUR
    last = min(end_hour, _floor_hour(now or datetime.now(UTC)))
    if first >= last:
        return []
    data_start = anomaly_method.history_start(first, settings)
    cells = CellFilter(tenant, environment, category)
    # Only the hours compared: the range, and the same hours (and the hours either side)
    # in each past week; a day's anomalies read 4 x 26 past hours, not 4 weeks.
    tallies = await repository.select_hourly_tallies(
        conn,
        cells=cells,
        spans=anomaly_method.hours_read(first, last, settings),
        grain=Grain(
            client=True,
            environment=True,
            category=True,
            bucket=(HOUR, first),
            histograms_from=settings.min_runs,
        ),
    )
    return anomaly_method.detect(
        anomaly_method.hourly_cells(tallies),
        start=first,
        end=last,
        data_start=data_start,
        settings=settings,
    )


async def anomalies(conn: AsyncConnection, *, tenancy: Tenancy, params: AnomalyParams) -> Anomalies:
    start, end = _resolve(params, default_days=DEFAULT_ANOMALY_DAYS)
    if end - start > timedelta(days=31):
        raise validation_problem(
            [FieldError(field="query.from", reason="anomalies span at most 31 days")]
        )
    found = await detect_anomalies(
        conn,
        tenant=tenancy.client_id,
        start=start,
        end=end,
        environment=params.environment,
        category=params.category,
        settings=anomaly_method.Settings(weeks=params.weeks, min_runs=params.min_runs),
    )
    return Anomalies(
        from_=start,
        to=end,
        anomalies=[
            AnomalyRead(
                client_id=a.client_id,
                environment=a.environment,
                category=a.category,
                hour=a.hour,
                kind=a.kind,
                direction=a.direction,
                observed=a.observed,
                usual_low=a.usual_low,
                usual_high=a.usual_high,
                expected=a.expected,
                runs=a.runs,
                score=a.score,
                explanation=a.explanation,
            )
            for a in found
            if params.kind is None or a.kind == params.kind
        ],
    )


async def patterns(conn: AsyncConnection, *, tenancy: Tenancy, params: PatternParams) -> Patterns:
    start, end = _resolve(params)
    failed = await repository.select_failed_runs(
        conn,
        client_id=tenancy.client_id,
        start=start,
        end=end,
        environment=params.environment,
        category=params.category,
        limit=PATTERN_SAMPLE + 1,
    )
    sampled = len(failed) > PATTERN_SAMPLE
    failed = failed[:PATTERN_SAMPLE]
    seen_before: set[str] | None = None
    if params.lookback_days:
        earlier = await repository.select_failure_signatures(
            conn,
            client_id=tenancy.client_id,
            start=start - timedelta(days=params.lookback_days),
            end=start,
            environment=params.environment,
            category=params.category,
            limit=PATTERN_SAMPLE,
        )
        seen_before = {
            pattern_method.pattern_id(step, pattern_method.template(error, status))
            for step, error, status in earlier
        }
    grouped = pattern_method.group(failed, seen_before=seen_before)
    return Patterns(
        from_=start,
        to=end,
        failed_runs=len(failed),
        sampled=sampled,
        patterns=[
            PatternRead(
                id=p.id,
                step=p.step,
                template=p.template,
                count=p.count,
                first_seen=p.first_seen or start,
                last_seen=p.last_seen or start,
                new=p.new,
                versions=sorted(p.versions),
                categories=sorted(p.categories),
                statuses=sorted(p.statuses),
                client_ids=sorted(p.clients),
                example_run_ids=p.example_run_ids,
            )
            for p in grouped[: params.limit]
        ],
    )

"""Version comparison and category trends, as pure functions of tallies."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from central_logger.insights.models import CellTally, Tally
from central_logger.insights.statistics import (
    newcombe_difference,
    two_proportion_p_value,
    wilson_interval,
)

# A difference is called significant when its 95% interval excludes zero.
SIGNIFICANCE = 0.05


@dataclass(frozen=True, slots=True)
class VersionSummary:
    version: str
    runs: int
    successful_runs: int
    success_rate: float | None
    success_rate_interval: tuple[float, float] | None
    p50: float | None
    p95: float | None
    p99: float | None


@dataclass(frozen=True, slots=True)
class VersionDifference:
    """Candidate minus baseline."""

    success_rate: float | None
    interval: tuple[float, float] | None
    p_value: float | None
    significant: bool
    p95_ratio: float | None
    verdict: str


def total(tallies: Iterable[Tally]) -> Tally:
    summed = Tally()
    for tally in tallies:
        summed.add(tally)
    return summed


def summarise(version: str, tally: Tally) -> VersionSummary:
    successes = tally.runs - tally.failed_runs
    return VersionSummary(
        version=version,
        runs=tally.runs,
        successful_runs=successes,
        success_rate=successes / tally.runs if tally.runs else None,
        success_rate_interval=wilson_interval(successes, tally.runs),
        p50=tally.percentile(0.5),
        p95=tally.percentile(0.95),
        p99=tally.percentile(0.99),
    )


def compare(baseline: VersionSummary, candidate: VersionSummary) -> VersionDifference:
    interval = newcombe_difference(
        baseline.successful_runs, baseline.runs, candidate.successful_runs, candidate.runs
    )
    p_value = two_proportion_p_value(
        baseline.successful_runs, baseline.runs, candidate.successful_runs, candidate.runs
    )
    significant = interval is not None and (interval[0] > 0 or interval[1] < 0)
    difference = (
        candidate.success_rate - baseline.success_rate
        if candidate.success_rate is not None and baseline.success_rate is not None
        else None
    )
    ratio = candidate.p95 / baseline.p95 if candidate.p95 and baseline.p95 else None
    if interval is None or difference is None:
        verdict = "not enough runs to compare"
    elif not significant:
        verdict = (
            f"no significant difference in success rate ({_points(difference)}, "
            f"95% interval {_points(interval[0])} to {_points(interval[1])})"
        )
    else:
        direction = "better" if difference > 0 else "worse"
        verdict = (
            f"{candidate.version} succeeds {direction} than {baseline.version}: "
            f"{_points(difference)} (95% interval {_points(interval[0])} to "
            f"{_points(interval[1])})"
        )
    return VersionDifference(difference, interval, p_value, significant, ratio, verdict)


def _points(difference: float) -> str:
    return f"{difference * 100:+.1f} points"


@dataclass(frozen=True, slots=True)
class TrendPoint:
    start: datetime
    runs: int
    success_rate: float | None
    p95: float | None


@dataclass(frozen=True, slots=True)
class CategoryTrend:
    category: str
    runs: int
    first_half_success_rate: float | None
    second_half_success_rate: float | None
    success_rate_change: float | None
    p95_ratio: float | None
    points: list[TrendPoint]


def category_trends(
    tallies: Iterable[CellTally], *, buckets: list[datetime], middle: datetime
) -> list[CategoryTrend]:
    """Per category, its success rate and p95 per bucket (`buckets` are the bucket
    starts, ascending; a tally goes to the last bucket starting at or before it), and
    how the second half of the range (from `middle`) compares with the first. Worst
    first: the largest fall in success rate, then the largest rise in p95."""
    per_bucket: dict[str, dict[datetime, Tally]] = {}
    halves: dict[str, tuple[Tally, Tally]] = {}
    for cell in tallies:
        category = cell.key.category or "uncategorized"
        bucket = _bucket_of(cell.start, buckets)
        if bucket is None:
            continue
        per_bucket.setdefault(category, {}).setdefault(bucket, Tally()).add(cell.tally)
        first, second = halves.setdefault(category, (Tally(), Tally()))
        (second if cell.start >= middle else first).add(cell.tally)
    trends = []
    for category, by_bucket in per_bucket.items():
        first, second = halves[category]
        first_rate, second_rate = _success_rate(first), _success_rate(second)
        first_p95 = first.percentile(0.95)
        second_p95 = second.percentile(0.95)
        points = [
            TrendPoint(
                start=b,
                runs=by_bucket[b].runs if b in by_bucket else 0,
                success_rate=_success_rate(by_bucket[b]) if b in by_bucket else None,
                p95=by_bucket[b].percentile(0.95) if b in by_bucket else None,
            )
            for b in buckets
        ]
        trends.append(
            CategoryTrend(
                category=category,
                runs=first.runs + second.runs,
                first_half_success_rate=first_rate,
                second_half_success_rate=second_rate,
                success_rate_change=second_rate - first_rate
                if first_rate is not None and second_rate is not None
                else None,
                p95_ratio=second_p95 / first_p95 if first_p95 and second_p95 else None,
                points=points,
            )
        )
    trends.sort(
        key=lambda t: (
            t.success_rate_change if t.success_rate_change is not None else 0.0,
            -(t.p95_ratio or 1.0),
            t.category,
        )
    )
    return trends


def _success_rate(tally: Tally) -> float | None:
    return (tally.runs - tally.failed_runs) / tally.runs if tally.runs > 0 else None


def _bucket_of(moment: datetime, buckets: list[datetime]) -> datetime | None:
    index = bisect_right(buckets, moment) - 1
    return buckets[index] if index >= 0 else None

"""What a rule sees of a client's runs in its window, and whether its condition holds.

Figures come from the metrics service (the same rollups, pending deltas and raw partial
hours as GET /api/v1/metrics/...), so a rule sees what the metrics API shows for the
same range and filters; rules the rollups cannot answer (narrowed or grouped by
workflow version, a status count within a category, a latency other than p95 by
category) read the tenant's raw logs of the window (docs/alerts.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.alerts import repository
from central_logger.alerts.models import Figures, Rule
from central_logger.auth.tenancy import Tenancy
from central_logger.metrics import service as metrics
from central_logger.metrics.histogram import BUCKETS, percentile
from central_logger.metrics.schemas import Categories, Overview, RangeParams

PERCENTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
UNCATEGORIZED = "uncategorized"  # as the metrics API names logs without a category
# A grouped no_runs rule watches the values seen this far back.
NO_RUNS_LOOKBACK = timedelta(days=7)


def _reads_raw(rule: Rule) -> bool:
    """Whether the metrics API cannot answer this rule (see the module's docstring)."""
    if rule.workflow_version is not None or rule.group_by == "version":
        return True
    by_category = rule.category is not None or rule.group_by == "category"
    if by_category:
        # The categories view has runs, failures and p95 per category, nothing by status.
        if rule.kind == "latency" and (rule.percentile or "p95") != "p95":
            return True
        if rule.kind == "count" and rule.status is not None:
            return True
        if rule.group_by == "environment":
            return True
    return False


def _range(start: datetime, end: datetime, environment: str | None) -> RangeParams:
    return RangeParams.model_validate({"from": start, "to": end, "environment": environment})


class CycleReads:
    """The reads of one cycle, each made once: rules asking the same question of the
    same client over the same window (many rules per client share their windows and
    filters) share one answer, read in the cycle's one snapshot."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._overviews: dict[tuple[Any, ...], Overview] = {}
        self._categories: dict[tuple[Any, ...], Categories] = {}
        self._raw: dict[tuple[Any, ...], Sequence[RowMapping]] = {}

    async def overview(
        self, client_id: str, start: datetime, end: datetime, environment: str | None
    ) -> Overview:
        key = (client_id, start, end, environment)
        if key not in self._overviews:
            self._overviews[key] = await metrics.overview(
                self.conn, tenancy=Tenancy(client_id), params=_range(start, end, environment)
            )
        return self._overviews[key]

    async def categories(
        self, client_id: str, start: datetime, end: datetime, environment: str | None
    ) -> Categories:
        key = (client_id, start, end, environment)
        if key not in self._categories:
            self._categories[key] = await metrics.categories(
                self.conn, tenancy=Tenancy(client_id), params=_range(start, end, environment)
            )
        return self._categories[key]

    async def raw(
        self, rule: Rule, client_id: str, start: datetime, end: datetime
    ) -> Sequence[RowMapping]:
        narrowing = (rule.environment, rule.category, rule.workflow_version, rule.status)
        key = (client_id, start, end, *narrowing, rule.group_by)
        if key not in self._raw:
            self._raw[key] = await repository.select_raw_figures(
                self.conn,
                client_id=client_id,
                start=start,
                end=end,
                environment=rule.environment,
                category=rule.category,
                workflow_version=rule.workflow_version,
                status=rule.status,
                group_by=rule.group_by,
            )
        return self._raw[key]


async def measure(
    reads: CycleReads, rule: Rule, *, client_id: str, start: datetime, end: datetime
) -> dict[str, Figures]:
    """The rule's figures per group value ('' when ungrouped) over [start, end)."""
    if _reads_raw(rule):
        return _raw_figures(rule, await reads.raw(rule, client_id, start, end))
    if rule.category is not None or rule.group_by == "category":
        categories = await reads.categories(client_id, start, end, rule.environment)
        found: dict[str, Figures] = {}
        for stats in categories.categories:
            if rule.category is not None and stats.category != rule.category:
                continue
            key = stats.category if rule.group_by == "category" else ""
            found[key] = Figures(
                runs=stats.runs,
                failed_runs=stats.failed_runs,
                matching_runs=stats.runs,
                percentiles={"p95": stats.p95_execution_time_seconds},
            )
        return found
    overview = await reads.overview(client_id, start, end, rule.environment)
    if rule.group_by != "environment":
        return {"": _overview_figures(rule, overview)}
    found = {}
    for environment in overview.by_environment:
        figures = Figures(
            runs=environment.runs,
            failed_runs=environment.failed_runs,
            matching_runs=environment.runs,
        )
        if rule.kind == "latency" or (rule.kind == "count" and rule.status is not None):
            narrowed = await reads.overview(client_id, start, end, environment.environment)
            figures = _overview_figures(rule, narrowed)
        found[environment.environment] = figures
    return found


def _overview_figures(rule: Rule, overview: Overview) -> Figures:
    matching = overview.total_runs
    if rule.status is not None:
        matching = next((s.runs for s in overview.by_status if s.status == rule.status), 0)
    return Figures(
        runs=overview.total_runs,
        failed_runs=overview.failed_runs,
        matching_runs=matching,
        percentiles={
            "p50": overview.p50_execution_time_seconds,
            "p95": overview.p95_execution_time_seconds,
            "p99": overview.p99_execution_time_seconds,
        },
    )


def _raw_figures(rule: Rule, rows: Sequence[RowMapping]) -> dict[str, Figures]:
    found: dict[str, Figures] = {}
    histograms: dict[str, list[int]] = {}
    for row in rows:
        key = row["group_key"]
        if rule.group_by == "category" and key == "":
            key = UNCATEGORIZED
        figures = found.setdefault(key, Figures())
        figures.runs += row["runs"]
        figures.failed_runs += row["failed_runs"]
        figures.matching_runs += row["matching_runs"]
        if row["bucket"] is not None:
            histograms.setdefault(key, [0] * BUCKETS)[row["bucket"]] += row["runs"]
    for key, figures in found.items():
        histogram = histograms.get(key, [])
        figures.percentiles = {name: percentile(histogram, f) for name, f in PERCENTILES.items()}
    return found


def breached(rule: Rule, figures: Figures) -> tuple[bool, float | None]:
    """Whether the rule's condition holds, and the value it compared."""
    threshold = rule.threshold or 0.0
    if rule.kind == "no_runs":
        return figures.runs == 0, float(figures.runs)
    if rule.kind == "count":
        return figures.matching_runs > threshold, float(figures.matching_runs)
    if rule.kind == "failure_rate":
        if figures.runs == 0:
            return False, None
        rate = 100.0 * figures.failed_runs / figures.runs
        return figures.runs >= rule.min_runs and rate >= threshold, rate
    # latency
    value = figures.percentiles.get(rule.percentile or "p95")
    if value is None:
        return False, None
    return figures.runs >= rule.min_runs and value > threshold, value


async def groups_seen(reads: CycleReads, rule: Rule, *, client_id: str, now: datetime) -> set[str]:
    """The group values a grouped no_runs rule watches: those seen within the lookback."""
    found = await measure(reads, rule, client_id=client_id, start=now - NO_RUNS_LOOKBACK, end=now)
    return {key for key, figures in found.items() if figures.runs}

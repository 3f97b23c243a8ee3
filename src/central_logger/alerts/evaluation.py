"""Evaluating rules: what each rule sees of a client's runs in its window, and the state
machine that turns it into events and notifications.

States, as Grafana and Alertmanager users expect: ok -> pending (the condition holds,
for less than the rule's for_seconds) -> firing -> resolved (an event; the state is ok
again). A notification goes out when an alert fires and when a fired alert resolves,
again every repeat_seconds while it keeps firing, and not while the rule is silenced.
Every change of state is an event row, and its notifications are outbox rows written in
the same transaction: a cycle either commits all of them or none, so a restart loses
nothing and sends nothing twice. Cycles run under a transaction advisory lock: one
evaluator among every worker and replica.

Figures come from the metrics service (the same rollups, pending deltas and raw partial
hours as GET /api/v1/metrics/...), so a rule sees what the metrics API shows for the
same range and filters; rules the rollups cannot answer (narrowed or grouped by
workflow version, a status count within a category) read the tenant's raw logs of the
window (docs/alerts.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central_logger.alerts import repository
from central_logger.alerts.models import AlertsConfig, Figures, Rule, StateRow
from central_logger.alerts.schemas import EvaluationReport
from central_logger.auth.tenancy import Tenancy
from central_logger.db.tenancy import state_tenant
from central_logger.metrics import service as metrics
from central_logger.metrics.histogram import BUCKETS, percentile
from central_logger.metrics.schemas import Categories, Overview, RangeParams

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
PERCENTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
UNCATEGORIZED = "uncategorized"  # as the metrics API names logs without a category
# A grouped no_runs rule watches the values seen this far back.
NO_RUNS_LOOKBACK = timedelta(days=7)


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- figures ------------------------------------------------------------------------------


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


# --- links --------------------------------------------------------------------------------


def logs_url(
    dashboard_url: str,
    *,
    rule_kind: str,
    client_id: str,
    group_by: str | None,
    group_key: str,
    status: str | None,
    environment: str | None,
    category: str | None,
    workflow_version: str | None,
    start: datetime,
    end: datetime,
) -> str:
    """The dashboard's Logs page narrowed to the runs behind an alert."""
    filters: dict[str, str | None] = {
        "client": client_id,
        "environment": environment,
        "category": category,
        "workflow_version": workflow_version,
        "status": status if rule_kind == "count" else None,
    }
    if group_by is not None and group_key:
        column = "workflow_version" if group_by == "version" else group_by
        if not (group_by == "category" and group_key == UNCATEGORIZED):
            filters[column] = group_key
    filters["from"] = start.astimezone(UTC).isoformat().replace("+00:00", "Z")
    filters["to"] = end.astimezone(UTC).isoformat().replace("+00:00", "Z")
    query = urlencode({k: v for k, v in filters.items() if v is not None})
    return f"{dashboard_url.rstrip('/')}/logs?{query}"


# --- the state machine ----------------------------------------------------------------------


def _transition(
    rule: Rule, prior: StateRow | None, *, holds: bool, now: datetime
) -> tuple[str, str | None, str | None]:
    """(next state, the event's to_state if the state changes, the notification's reason)."""
    state = prior.state if prior is not None else "ok"
    silenced = rule.silenced(now)
    if state == "ok":
        if not holds:
            return "ok", None, None
        if rule.for_seconds > 0:
            return "pending", "pending", None
        return "firing", "firing", None if silenced else "firing"
    if state == "pending":
        assert prior is not None
        if not holds:
            return "ok", "ok", None
        since = prior.pending_since or now
        if now - since >= timedelta(seconds=rule.for_seconds):
            return "firing", "firing", None if silenced else "firing"
        return "pending", None, None
    # firing
    assert prior is not None
    if not holds:
        # A fired alert nobody heard of (silenced throughout) resolves quietly.
        announced = prior.last_notified_at is not None
        return "ok", "resolved", "resolved" if announced and not silenced else None
    if silenced:
        return "firing", None, None
    if prior.last_notified_at is None:
        return "firing", None, "firing"  # fired while silenced: told now
    if rule.repeat_seconds and now - prior.last_notified_at >= timedelta(
        seconds=rule.repeat_seconds
    ):
        return "firing", None, "repeat"
    return "firing", None, None


async def _apply(
    conn: AsyncConnection,
    rule: Rule,
    prior: StateRow | None,
    *,
    client_id: str,
    group_key: str,
    holds: bool,
    value: float | None,
    now: datetime,
    channel_ids: list[int],
    config: AlertsConfig,
    report: EvaluationReport,
) -> None:
    state, event_state, reason = _transition(rule, prior, holds=holds, now=now)
    if event_state is None and reason is None:
        return
    event_id = None
    if event_state is not None:
        event_id = await repository.insert_event(
            conn,
            values={
                "rule_id": rule.id,
                "client_id": client_id,
                "provider": rule.provider,
                "group_key": group_key,
                "from_state": prior.state if prior is not None else "ok",
                "to_state": event_state,
                "value": value,
                "threshold": rule.threshold,
                "occurred_at": now,
            },
        )
        report.changes += 1
    notified = prior.last_notified_at if prior is not None else None
    if reason is not None:
        notified = now
        body = _notification(
            rule,
            client_id=client_id,
            group_key=group_key,
            reason=reason,
            value=value,
            now=now,
            event_id=event_id,
            dashboard_url=config.dashboard_url,
        )
        give_up = now + timedelta(seconds=config.give_up_seconds)
        await repository.insert_outbox(
            conn,
            rows=[
                {
                    "client_id": client_id,
                    "event_id": event_id,
                    "rule_id": rule.id,
                    "channel_id": channel_id,
                    "reason": reason,
                    "body": body,
                    "next_attempt_at": now,
                    "give_up_at": give_up,
                    "created_at": now,
                }
                for channel_id in channel_ids
            ],
        )
        report.notifications += len(channel_ids)
    if state == "ok":
        # Only pending and firing alerts keep a row: a cycle reads them all.
        await repository.delete_state(
            conn, rule_id=rule.id, client_id=client_id, group_key=group_key
        )
        return
    await repository.upsert_state(
        conn,
        values={
            "rule_id": rule.id,
            "client_id": client_id,
            "group_key": group_key,
            "state": state,
            "value": value,
            "pending_since": (prior.pending_since if prior and prior.state == "pending" else now)
            if state == "pending"
            else None,
            "firing_since": (prior.firing_since if prior and prior.state == "firing" else now)
            if state == "firing"
            else None,
            "last_notified_at": notified,
            "updated_at": now,
        },
    )


def _notification(
    rule: Rule,
    *,
    client_id: str,
    group_key: str,
    reason: str,
    value: float | None,
    now: datetime,
    event_id: int | None,
    dashboard_url: str,
) -> dict[str, Any]:
    """What every channel says (the webhook's JSON body; Slack and email render it)."""
    start = now - timedelta(seconds=rule.window_seconds)
    return {
        "type": f"alert.{reason}",
        "event_id": event_id,
        "state": "resolved" if reason == "resolved" else "firing",
        "rule": {
            "id": rule.id,
            "name": rule.name,
            "kind": rule.kind,
            "percentile": rule.percentile if rule.kind == "latency" else None,
            "status": rule.status,
            "environment": rule.environment,
            "category": rule.category,
            "workflow_version": rule.workflow_version,
            "provider": rule.provider,
        },
        "client_id": client_id,
        "group": {"by": rule.group_by, "value": group_key} if rule.group_by else None,
        "value": value,
        "threshold": rule.threshold,
        "window_seconds": rule.window_seconds,
        "occurred_at": now.astimezone(UTC).isoformat(),
        "logs_url": logs_url(
            dashboard_url,
            rule_kind=rule.kind,
            client_id=client_id,
            group_by=rule.group_by,
            group_key=group_key,
            status=rule.status,
            environment=rule.environment,
            category=rule.category,
            workflow_version=rule.workflow_version,
            start=start,
            end=now,
        ),
    }


# --- a cycle ----------------------------------------------------------------------------------


async def _groups_seen(reads: CycleReads, rule: Rule, *, client_id: str, now: datetime) -> set[str]:
    """The group values a grouped no_runs rule watches: those seen within the lookback."""
    found = await measure(reads, rule, client_id=client_id, start=now - NO_RUNS_LOOKBACK, end=now)
    return {key for key, figures in found.items() if figures.runs}


async def evaluate_rule(
    reads: CycleReads,
    rule: Rule,
    *,
    now: datetime,
    tenants: Callable[[], Awaitable[list[str]]],
    states: list[StateRow],
    config: AlertsConfig,
    report: EvaluationReport,
) -> None:
    conn = reads.conn
    clients = [rule.client_id] if rule.client_id is not None else await tenants()
    prior = {(s.client_id, s.group_key): s for s in states}
    channel_ids: list[int] | None = None
    start = now - timedelta(seconds=rule.window_seconds)
    for client_id in clients:
        figures = await measure(reads, rule, client_id=client_id, start=start, end=now)
        groups = set(figures)
        groups.update(g for (c, g), s in prior.items() if c == client_id and s.state != "ok")
        if rule.kind == "no_runs":
            if rule.group_by is None:
                groups.add("")
            else:
                groups.update(await _groups_seen(reads, rule, client_id=client_id, now=now))
        for group_key in sorted(groups):
            holds, value = breached(rule, figures.get(group_key, Figures()))
            state = prior.get((client_id, group_key))
            if state is None and not holds:
                continue
            if channel_ids is None:
                channel_ids = await repository.linked_channel_ids(conn, rule_id=rule.id)
            await _apply(
                conn,
                rule,
                state,
                client_id=client_id,
                group_key=group_key,
                holds=holds,
                value=value,
                now=now,
                channel_ids=channel_ids,
                config=config,
                report=report,
            )


async def evaluate(engine: AsyncEngine, *, now: datetime, config: AlertsConfig) -> EvaluationReport:
    """One cycle over every enabled rule, in one transaction under the evaluation lock;
    a rule that fails (its own savepoint) is logged and skipped."""
    async with engine.begin() as conn:
        await state_tenant(conn, None)  # rules span every tenant
        if not await repository.try_lock_evaluation(conn):
            return EvaluationReport(ran=False)
        report = EvaluationReport(ran=True)
        known: list[str] | None = None

        async def tenants() -> list[str]:
            nonlocal known
            if known is None:
                known = await repository.tenants(conn)
            return known

        states: dict[int, list[StateRow]] = {}
        for state in map(StateRow.from_row, await repository.select_all_states(conn)):
            states.setdefault(state.rule_id, []).append(state)
        reads = CycleReads(conn)
        for row in await repository.select_enabled_rules(conn):
            rule = Rule.from_row(row)
            report.rules += 1
            try:
                async with conn.begin_nested():
                    await evaluate_rule(
                        reads,
                        rule,
                        now=now,
                        tenants=tenants,
                        states=states.get(rule.id, []),
                        config=config,
                        report=report,
                    )
            except Exception as exc:  # one broken rule must not stop the others
                logger.warning("alert rule %s failed: %s: %s", rule.id, type(exc).__name__, exc)
        return report


async def run_evaluation_loop(
    engine: AsyncEngine, *, config: AlertsConfig, clock: Clock = utc_now
) -> None:
    """Inside the service or `central-logger alerts run`: a cycle every interval."""
    while True:
        await asyncio.sleep(config.evaluation_interval_seconds)
        try:
            report = await evaluate(engine, now=clock(), config=config)
            if report.changes:
                logger.info(
                    "alerts: %d state changes, %d notifications queued",
                    report.changes,
                    report.notifications,
                )
        except Exception as exc:  # the database may be down; the next cycle goes on
            logger.warning("alert evaluation failed: %s: %s", type(exc).__name__, exc)

"""Evaluating rules: the state machine that turns what each rule sees into events and
notifications, and the cycle that runs every rule.

States, as Grafana and Alertmanager users expect: ok -> pending (the condition holds,
for less than the rule's for_seconds) -> firing -> resolved (an event; the state is ok
again). A notification goes out when an alert fires and when a fired alert resolves,
again every repeat_seconds while it keeps firing, and not while the rule is silenced.
Every change of state is an event row, and its notifications are outbox rows written in
the same transaction: a cycle either commits all of them or none, so a restart loses
nothing and sends nothing twice. Cycles run under a transaction advisory lock: one
evaluator among every worker and replica.

What a rule sees is figures.py; what a notification says, notifications.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central_logger.alerts import outbox_repository, repository
from central_logger.alerts.figures import CycleReads, breached, groups_seen, measure
from central_logger.alerts.models import AlertsConfig, Figures, Rule, StateRow
from central_logger.alerts.notifications import notification
from central_logger.alerts.schemas import EvaluationReport
from central_logger.db.tenancy import state_tenant

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


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
    refreshed: list[dict[str, Any]],
) -> None:
    state, event_state, reason = _transition(rule, prior, holds=holds, now=now)
    if event_state is None and reason is None:
        if prior is not None and prior.value != value:
            # Kept current for the views; written in one batch at the end of the cycle.
            refreshed.append({"r": rule.id, "c": client_id, "g": group_key, "v": value, "at": now})
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
        body = notification(
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
        await outbox_repository.insert_outbox(
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


# --- a cycle ----------------------------------------------------------------------------------


async def evaluate_rule(
    reads: CycleReads,
    rule: Rule,
    *,
    now: datetime,
    tenants: Callable[[], Awaitable[list[str]]],
    states: list[StateRow],
    config: AlertsConfig,
    report: EvaluationReport,
    refreshed: list[dict[str, Any]],
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
                groups.update(await groups_seen(reads, rule, client_id=client_id, now=now))
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
                refreshed=refreshed,
            )


async def evaluate(engine: AsyncEngine, *, now: datetime, config: AlertsConfig) -> EvaluationReport:
    """One cycle over every enabled rule, in one transaction under the evaluation lock.
    Rules run back to back; should one fail, the cycle is rolled back and run again
    with each rule in a savepoint of its own (two round trips more per rule), so the
    broken rule is logged and skipped and the others go on."""
    try:
        return await _cycle(engine, now=now, config=config, guarded=False)
    except Exception as exc:
        logger.warning(
            "alert evaluation failed (%s: %s); evaluating rule by rule", type(exc).__name__, exc
        )
    return await _cycle(engine, now=now, config=config, guarded=True)


async def _cycle(
    engine: AsyncEngine, *, now: datetime, config: AlertsConfig, guarded: bool
) -> EvaluationReport:
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
        refreshed: list[dict[str, Any]] = []
        for row in await repository.select_enabled_rules(conn):
            rule = Rule.from_row(row)
            report.rules += 1
            evaluation = evaluate_rule(
                reads,
                rule,
                now=now,
                tenants=tenants,
                states=states.get(rule.id, []),
                config=config,
                report=report,
                refreshed=refreshed,
            )
            if not guarded:
                await evaluation
                continue
            try:
                async with conn.begin_nested():
                    await evaluation
            except Exception as exc:  # one broken rule must not stop the others
                logger.warning("alert rule %s failed: %s: %s", rule.id, type(exc).__name__, exc)
        await repository.update_values(conn, rows=refreshed)
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

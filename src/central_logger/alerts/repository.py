"""SQL for alerts: rules, channels, states, events, the outbox, and the raw reads of a
rule narrowed or grouped by workflow version (the rollups hold no version). Row-level
security keeps a tenant's transaction to its own rows; `provider` keeps the provider's
rules about a tenant out of the tenant's listings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.db import tables
from central_logger.db.tenancy import tenants_in_table
from central_logger.metrics.histogram import bucket_sql

rules = tables.alert_rules
channels = tables.alert_channels
links = tables.alert_rule_channels
states = tables.alert_states
events = tables.alert_events
outbox = tables.alert_outbox
attempts = tables.alert_delivery_attempts
logs = tables.workflow_logs

_LOCK = "central_logger_alerts_evaluation"


def owned(table: Any, provider: bool | None) -> list[ColumnElement[bool]]:
    """None: every row the transaction sees (an admin's); else only tenant-owned or only
    provider-owned rows."""
    return [] if provider is None else [table.c.provider.is_(provider)]


# --- rules --------------------------------------------------------------------------------


def _rule_columns() -> list[Any]:
    channel_ids = (
        select(func.coalesce(func.array_agg(links.c.channel_id.distinct()), text("'{}'")))
        .where(links.c.rule_id == rules.c.id)
        .scalar_subquery()
    )
    return [*rules.c, channel_ids.label("channel_ids")]


async def select_rules(
    conn: AsyncConnection,
    *,
    provider: bool | None,
    client_id: str | None = None,
    rule_id: int | None = None,
) -> Sequence[RowMapping]:
    statement = select(*_rule_columns()).where(*owned(rules, provider))
    if client_id is not None:
        statement = statement.where(rules.c.client_id == client_id)
    if rule_id is not None:
        statement = statement.where(rules.c.id == rule_id)
    statement = statement.order_by(rules.c.client_id.nulls_first(), rules.c.id)
    return (await conn.execute(statement)).mappings().all()


async def select_enabled_rules(conn: AsyncConnection) -> Sequence[RowMapping]:
    statement = select(rules).where(rules.c.enabled).order_by(rules.c.id)
    return (await conn.execute(statement)).mappings().all()


async def insert_rule(conn: AsyncConnection, *, values: dict[str, Any]) -> int:
    result = await conn.execute(rules.insert().values(**values).returning(rules.c.id))
    return int(result.scalar_one())


async def update_rule(
    conn: AsyncConnection, *, rule_id: int, provider: bool | None, values: dict[str, Any]
) -> bool:
    statement = (
        update(rules)
        .where(rules.c.id == rule_id, *owned(rules, provider))
        .values(**values, updated_at=func.now())
    )
    return bool((await conn.execute(statement)).rowcount)


async def delete_rule(conn: AsyncConnection, *, rule_id: int, provider: bool | None) -> bool:
    result = await conn.execute(delete(rules).where(rules.c.id == rule_id, *owned(rules, provider)))
    if not result.rowcount:
        return False
    await conn.execute(delete(links).where(links.c.rule_id == rule_id))
    await delete_states(conn, rule_id=rule_id)
    return True


async def delete_states(conn: AsyncConnection, *, rule_id: int) -> None:
    await conn.execute(delete(states).where(states.c.rule_id == rule_id))


async def replace_links(
    conn: AsyncConnection, *, rule_id: int, client_id: str | None, channel_ids: Sequence[int]
) -> None:
    await conn.execute(delete(links).where(links.c.rule_id == rule_id))
    if channel_ids:
        await conn.execute(
            links.insert(),
            [{"rule_id": rule_id, "channel_id": c, "client_id": client_id} for c in channel_ids],
        )


# --- channels ------------------------------------------------------------------------------


async def select_channels(
    conn: AsyncConnection,
    *,
    provider: bool | None,
    channel_ids: Sequence[int] | None = None,
) -> Sequence[RowMapping]:
    statement = select(channels).where(*owned(channels, provider))
    if channel_ids is not None:
        statement = statement.where(channels.c.id.in_(list(channel_ids)))
    statement = statement.order_by(channels.c.client_id.nulls_first(), channels.c.id)
    return (await conn.execute(statement)).mappings().all()


async def insert_channel(conn: AsyncConnection, *, values: dict[str, Any]) -> RowMapping:
    result = await conn.execute(channels.insert().values(**values).returning(*channels.c))
    return result.mappings().one()


async def delete_channel(conn: AsyncConnection, *, channel_id: int, provider: bool | None) -> bool:
    result = await conn.execute(
        delete(channels).where(channels.c.id == channel_id, *owned(channels, provider))
    )
    if not result.rowcount:
        return False
    await conn.execute(delete(links).where(links.c.channel_id == channel_id))
    return True


async def rotate_secret(
    conn: AsyncConnection,
    *,
    channel_id: int,
    provider: bool | None,
    secret: str,
    previous_until: datetime,
) -> bool:
    statement = (
        update(channels)
        .where(
            channels.c.id == channel_id,
            channels.c.kind == "webhook",
            *owned(channels, provider),
        )
        .values(
            previous_secret=channels.c.secret,
            previous_secret_until=previous_until,
            secret=secret,
        )
    )
    return bool((await conn.execute(statement)).rowcount)


async def linked_channel_ids(conn: AsyncConnection, *, rule_id: int) -> list[int]:
    statement = select(links.c.channel_id).where(links.c.rule_id == rule_id)
    return list((await conn.execute(statement)).scalars())


# --- states and events ------------------------------------------------------------------------


async def select_all_states(conn: AsyncConnection) -> Sequence[RowMapping]:
    """Every alert's state (an evaluation cycle reads them once); resolved alerts leave
    no row behind (`delete_state`), so these are the pending and firing ones."""
    return (await conn.execute(select(states))).mappings().all()


async def delete_state(
    conn: AsyncConnection, *, rule_id: int, client_id: str, group_key: str
) -> None:
    await conn.execute(
        delete(states).where(
            states.c.rule_id == rule_id,
            states.c.client_id == client_id,
            states.c.group_key == group_key,
        )
    )


async def upsert_state(conn: AsyncConnection, *, values: dict[str, Any]) -> None:
    statement = pg_insert(states).values(**values)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[states.c.rule_id, states.c.client_id, states.c.group_key],
            set_={k: statement.excluded[k] for k in values if k not in states.primary_key.columns},
        )
    )


async def update_values(conn: AsyncConnection, *, rows: list[dict[str, Any]]) -> None:
    """The current figure of alerts whose state did not change, in one batch (pipelined
    by the driver): `r`, `c`, `g` name the alert; `v`, `at` what to write."""
    if not rows:
        return
    statement = (
        update(states)
        .where(
            states.c.rule_id == bindparam("r"),
            states.c.client_id == bindparam("c"),
            states.c.group_key == bindparam("g"),
        )
        .values(value=bindparam("v"), updated_at=bindparam("at"))
    )
    await conn.execute(statement, rows)


async def insert_event(conn: AsyncConnection, *, values: dict[str, Any]) -> int:
    result = await conn.execute(events.insert().values(**values).returning(events.c.id))
    return int(result.scalar_one())


async def select_active(conn: AsyncConnection, *, provider: bool | None) -> Sequence[RowMapping]:
    """Pending and firing alerts with their rules."""
    statement = (
        select(
            states,
            rules.c.name.label("rule_name"),
            rules.c.provider,
            rules.c.group_by,
            rules.c.threshold,
            rules.c.silenced_until,
            rules.c.kind,
            rules.c.status.label("rule_status"),
            rules.c.environment,
            rules.c.category,
            rules.c.workflow_version,
            rules.c.window_seconds,
        )
        .join(rules, rules.c.id == states.c.rule_id)
        .where(states.c.state.in_(["pending", "firing"]), rules.c.enabled, *owned(rules, provider))
        .order_by(states.c.client_id, states.c.rule_id, states.c.group_key)
    )
    return (await conn.execute(statement)).mappings().all()


async def select_events(
    conn: AsyncConnection,
    *,
    provider: bool | None,
    rule_id: int | None,
    client_id: str | None,
    limit: int,
) -> Sequence[RowMapping]:
    statement = (
        select(events, rules.c.name.label("rule_name"))
        .outerjoin(rules, rules.c.id == events.c.rule_id)
        .where(*owned(events, provider))
    )
    if rule_id is not None:
        statement = statement.where(events.c.rule_id == rule_id)
    if client_id is not None:
        statement = statement.where(events.c.client_id == client_id)
    statement = statement.order_by(events.c.occurred_at.desc(), events.c.id.desc()).limit(limit)
    return (await conn.execute(statement)).mappings().all()


# --- evaluation ----------------------------------------------------------------------------


async def try_lock_evaluation(conn: AsyncConnection) -> bool:
    """A transaction advisory lock: one evaluator among every process and replica; it
    ends with the transaction that writes the cycle's states, events and outbox."""
    lock = func.pg_try_advisory_xact_lock(func.hashtext(_LOCK))
    return bool((await conn.execute(select(lock))).scalar_one())


async def tenants(conn: AsyncConnection) -> list[str]:
    """Every tenant with counted logs (folded or pending)."""
    found = set(await tenants_in_table(conn, tables.rollup_daily.name))
    found.update(await tenants_in_table(conn, tables.rollup_pending.name))
    return sorted(found)


_GROUP_COLUMNS = {
    "environment": logs.c.environment,
    "category": func.coalesce(logs.c.category, ""),
    "version": func.coalesce(logs.c.workflow_version, ""),
}


async def select_raw_figures(
    conn: AsyncConnection,
    *,
    client_id: str,
    start: datetime,
    end: datetime,
    environment: str | None,
    category: str | None,
    workflow_version: str | None,
    status: str | None,
    group_by: str | None,
) -> Sequence[RowMapping]:
    """Counts per (group, execution-time bucket) of one tenant's logs in [start, end):
    for rules the rollups cannot answer (narrowed or grouped by workflow version, or a
    status count within a category). Bounded by the window and the tenant, on the
    (client_id, executed_at) index; buckets as the rollups' histograms (metrics/
    histogram.py) so percentiles agree with the metrics API."""
    group: ColumnElement[Any] = (
        _GROUP_COLUMNS[group_by] if group_by else literal_column("''")
    ).label("group_key")
    bucket: ColumnElement[Any] = literal_column(
        f"CASE WHEN execution_time_seconds IS NOT NULL "
        f"THEN {bucket_sql('execution_time_seconds')} END"
    ).label("bucket")
    matching = logs.c.status == status if status is not None else literal_column("true")
    conditions: list[ColumnElement[bool]] = [
        logs.c.client_id == client_id,
        logs.c.executed_at >= start,
        logs.c.executed_at < end,
    ]
    if environment is not None:
        conditions.append(logs.c.environment == environment)
    if category is not None:
        conditions.append(logs.c.category == category)
    if workflow_version is not None:
        conditions.append(logs.c.workflow_version == workflow_version)
    statement = (
        select(
            group,
            bucket,
            func.count().label("runs"),
            func.count().filter(logs.c.status != "SUCCESS").label("failed_runs"),
            func.count().filter(matching).label("matching_runs"),
        )
        .where(and_(*conditions))
        .group_by(literal_column("1"), literal_column("2"))
    )
    return (await conn.execute(statement)).mappings().all()

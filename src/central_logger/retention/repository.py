"""SQL for retention: the policies, and the bounded deletes of expired logs and rollups.

Dropping whole days is db/partitions.py. Deletes name one partition (or rollup table)
and remove at most `limit` rows by their physical address (ctid), so each is one short
transaction whatever the table's size; the caller repeats until fewer come back. They
run as the provider (the retention connection states app.is_admin)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.db import tables
from central_logger.db.partitions import Partition
from central_logger.db.tenancy import tenants_in_table

policies = tables.retention_policies


async def select_policies(conn: AsyncConnection) -> Sequence[RowMapping]:
    return (await conn.execute(select(policies).order_by(policies.c.client_id))).mappings().all()


async def select_policy(conn: AsyncConnection, *, client_id: str) -> RowMapping | None:
    statement = select(policies).where(policies.c.client_id == client_id)
    return (await conn.execute(statement)).mappings().first()


async def upsert_policy(
    conn: AsyncConnection,
    *,
    client_id: str,
    logs_days: int,
    rollup_days: int | None,
    updated_by: str | None,
) -> None:
    statement = pg_insert(policies).values(
        client_id=client_id, logs_days=logs_days, rollup_days=rollup_days, updated_by=updated_by
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[policies.c.client_id],
            set_={
                "logs_days": statement.excluded.logs_days,
                "rollup_days": statement.excluded.rollup_days,
                "updated_by": statement.excluded.updated_by,
                "updated_at": text("now()"),
            },
        )
    )


async def delete_policy(conn: AsyncConnection, *, client_id: str) -> bool:
    result = await conn.execute(delete(policies).where(policies.c.client_id == client_id))
    return bool(result.rowcount)


async def delete_expired_logs(
    conn: AsyncConnection, partition: Partition, *, client_id: str, before: datetime, limit: int
) -> int:
    """Delete up to `limit` of the tenant's logs older than `before` from one partition,
    with their ids."""
    table = f'"{partition.name}"'
    result = await conn.execute(
        text(
            f"""
            WITH gone AS (
                DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM {table}
                    WHERE client_id = :client_id AND executed_at < :before LIMIT :limit))
                RETURNING client_id, id
            ),
            forgotten AS (
                DELETE FROM workflow_log_ids i USING gone
                WHERE i.id = gone.id AND i.client_id = gone.client_id
            )
            SELECT count(*) FROM gone
            """
        ),
        {"client_id": client_id, "before": before, "limit": limit},
    )
    return int(result.scalar_one())


# Rollup tables and their time column.
ROLLUP_TABLES: tuple[tuple[str, str], ...] = (
    (tables.rollup_hourly.name, "hour"),
    (tables.rollup_daily.name, "day"),
    (tables.histogram_hourly.name, "hour"),
    (tables.histogram_daily.name, "day"),
)


async def delete_expired_rollups(
    conn: AsyncConnection,
    table: str,
    time_column: str,
    *,
    client_id: str,
    before: datetime,
    limit: int,
) -> int:
    """Delete up to `limit` of the tenant's rollup rows older than `before`."""
    result = await conn.execute(
        text(
            f"""
            DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM {table}
                WHERE client_id = :client_id AND {time_column} < :before LIMIT :limit))
            """
        ),
        {"client_id": client_id, "before": before, "limit": limit},
    )
    return int(result.rowcount)


async def rollup_tenants(conn: AsyncConnection) -> Sequence[str]:
    """Tenants with daily rollups (every folded log has one)."""
    return await tenants_in_table(conn, tables.rollup_daily.name)


async def try_lock(conn: AsyncConnection, key: str) -> bool:
    """A session advisory lock: one retention run among every process and replica."""
    result = await conn.execute(select(text(f"pg_try_advisory_lock(hashtext('{key}'))")))
    return bool(result.scalar_one())


async def unlock(conn: AsyncConnection, key: str) -> None:
    await conn.execute(select(text(f"pg_advisory_unlock(hashtext('{key}'))")))


async def act_as_provider(conn: AsyncConnection, on: bool) -> None:
    """For the whole session of the retention connection (autocommit: every delete is
    its own transaction): row-level security lets it see every tenant's rows."""
    await conn.execute(
        text("SELECT set_config('app.is_admin', :on, false)"), {"on": "on" if on else "off"}
    )

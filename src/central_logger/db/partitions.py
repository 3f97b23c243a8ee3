"""workflow_logs' daily partitions: their names, and the SQL that makes, lists and
drops them (db/sql/workflow_logs_create_partition.sql makes one).

A partition holds one UTC day, [day, day + 1). Dropping one is cheap only when no
reader or writer waits on it: it is first detached CONCURRENTLY (a lock that lets
inserts and reads of workflow_logs go on), its ids are then removed from
workflow_log_ids in short batches, and only then is the detached table dropped. A
detach or drop cut short (a crash, a restart) is finished by the next run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.db.tenancy import tenants_in_table

PARENT = "workflow_logs"
_NAME = re.compile(r"^workflow_logs_p(\d{8})$")


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def is_partition_name(name: str) -> bool:
    """A table the service makes and drops at run time, not part of the schema's source
    (Alembic's comparison and the schema test leave these out)."""
    return _NAME.match(name) is not None


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def day_of(moment: datetime) -> date:
    """The UTC day whose partition holds a log of this time."""
    return moment.astimezone(UTC).date()


def is_missing_partition(exc: BaseException) -> bool:
    """The insert met a time with no partition (SQLSTATE 23514 from partition routing)."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "23514" and "no partition" in str(orig)


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    day: date
    # False: detached (CONCURRENTLY) by retention and not dropped yet.
    attached: bool
    # A DETACH ... CONCURRENTLY that was cut short: FINALIZE finishes it.
    detach_pending: bool

    @property
    def end(self) -> datetime:
        return day_start(self.day + timedelta(days=1))


async def ensure_days(conn: AsyncConnection, days: Iterable[date]) -> int:
    """Make the partitions of `days` that do not exist; return how many were made.
    Commit soon after: making one holds an advisory lock until the transaction ends."""
    wanted = sorted(set(days))
    if not wanted:
        return 0
    result = await conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE made) FROM unnest(CAST(:days AS date[])) AS d(day),"
            " LATERAL workflow_logs_create_partition(d.day) AS made"
        ),
        {"days": wanted},
    )
    return int(result.scalar_one())


async def ensure_ahead(conn: AsyncConnection, *, now: datetime, days_ahead: int) -> int:
    """Make the partitions from yesterday to `days_ahead` days after `now`'s day."""
    today = day_of(now)
    return await ensure_days(conn, [today + timedelta(days=n) for n in range(-1, days_ahead + 1)])


async def list_partitions(conn: AsyncConnection) -> list[Partition]:
    """Every daily table of workflow_logs, attached or detached by retention, oldest
    first."""
    result = await conn.execute(
        text(
            """
            SELECT c.relname, c.relispartition, COALESCE(i.inhdetachpending, false)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
            LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
            WHERE c.relkind = 'r' AND c.relname LIKE 'workflow\\_logs\\_p%'
            """
        )
    )
    partitions = []
    for name, attached, pending in result:
        match = _NAME.match(name)
        if match is None:
            continue
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
        partitions.append(Partition(name, day, attached=attached, detach_pending=pending))
    return sorted(partitions, key=lambda p: p.day)


async def days_for_reading(conn: AsyncConnection, *, custom_plans: bool = False) -> list[date]:
    """The days workflow_logs has a partition for, and, for the rest of this
    transaction, generic plans: a prepared statement then uses its generic plan, whose
    partitions are pruned as it starts, instead of a custom plan made (for every
    partition it might read) at each execution. One round trip for both (~0.2 ms).
    `custom_plans` (a text search): a plan made for each execution's own values, since
    a generic plan cannot tell a rare word (read the index) from a common one (walk the
    newest-first index), nor a short ticket prefix from a long one."""
    mode = "force_custom_plan" if custom_plans else "force_generic_plan"
    result = await conn.execute(
        text(
            """
            SELECT set_config('plan_cache_mode', :mode, true),
                   array(SELECT c.relname::text FROM pg_inherits i
                         JOIN pg_class c ON c.oid = i.inhrelid
                         WHERE i.inhparent = CAST('workflow_logs' AS regclass)
                           AND NOT i.inhdetachpending)
            """
        ),
        {"mode": mode},
    )
    _, names = result.one()
    days = []
    for name in names:
        match = _NAME.match(name)
        if match is not None:
            days.append(datetime.strptime(match.group(1), "%Y%m%d").date())
    return sorted(days)


async def tenants_in(conn: AsyncConnection, partition: Partition) -> Sequence[str]:
    """The tenants with logs in the partition (one probe per tenant). The partition is
    named, so the caller must be the provider."""
    return await tenants_in_table(conn, _quoted(partition))


async def detach(autocommit: AsyncConnection, partition: Partition) -> None:
    """Detach without stopping inserts and reads of workflow_logs (CONCURRENTLY: it
    waits for the transactions that use the partition instead). `autocommit`: outside
    any transaction, as the tables' owner."""
    if partition.detach_pending:
        statement = f"ALTER TABLE {PARENT} DETACH PARTITION {_quoted(partition)} FINALIZE"
    else:
        statement = f"ALTER TABLE {PARENT} DETACH PARTITION {_quoted(partition)} CONCURRENTLY"
    await autocommit.execute(text(statement))


async def page_count(conn: AsyncConnection, partition: Partition) -> int:
    result = await conn.execute(
        text(
            "SELECT pg_relation_size(CAST(:name AS regclass)) / current_setting('block_size')::int"
        ),
        {"name": partition.name},
    )
    return int(result.scalar_one())


async def forget_ids(conn: AsyncConnection, partition: Partition, pages: range) -> int:
    """Delete from workflow_log_ids the ids of the logs on `pages` of a detached
    partition (a TID range scan: a batch of pages, not of the whole table). Run as the
    provider."""
    result = await conn.execute(
        text(
            f"""
            DELETE FROM workflow_log_ids i
            USING (SELECT client_id, id FROM {_quoted(partition)}
                   WHERE ctid >= CAST(:first AS tid) AND ctid < CAST(:stop AS tid)) AS gone
            WHERE i.id = gone.id AND i.client_id = gone.client_id
            """
        ),
        {"first": f"({pages.start},0)", "stop": f"({pages.stop},0)"},
    )
    return int(result.rowcount)


async def drop_detached(autocommit: AsyncConnection, partition: Partition) -> None:
    """Drop a detached partition (no lock on workflow_logs: it is not a partition any
    more)."""
    assert not partition.attached
    await autocommit.execute(text(f"DROP TABLE IF EXISTS {_quoted(partition)}"))


def _quoted(partition: Partition) -> str:
    # The name matched _NAME (letters, digits, underscores): safe as an identifier.
    assert is_partition_name(partition.name)
    return f'"{partition.name}"'

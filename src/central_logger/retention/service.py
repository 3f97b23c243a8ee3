"""Retention rules: which policy applies to a tenant, and the run that removes what is
older (docs/retention.md).

A run, for every daily partition older than the shortest retention in force:
- drops it whole when every tenant with logs in it has expired them all (a detach that
  lets ingestion and reads go on, then the ids, then the table: db/partitions.py);
- otherwise deletes each expired tenant's rows from it in short bounded transactions;
then deletes each tenant's expired rollup rows, likewise bounded. Interrupted, the next
run goes on from where this one stopped: every step is idempotent.

One run at a time among every worker and replica (a session advisory lock), inside the
service every RETENTION_INTERVAL_SECONDS, or as `central-logger retention run` from a
cron job or a worker process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central_logger.db import partitions
from central_logger.db.tenancy import state_tenant
from central_logger.retention import repository
from central_logger.retention.schemas import (
    RetentionPolicy,
    RetentionPolicyList,
    RetentionPolicyUpdate,
    RetentionRunReport,
)

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_LOCK = "central_logger_retention"
# Pages of a dropped partition whose ids one statement forgets (~7 logs per page).
_ID_PAGES_PER_BATCH = 512


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Defaults:
    logs_days: int
    rollup_days: int

    @property
    def policy(self) -> Policy:
        # As for a tenant's own policy: rollups outlive the logs they count (the list
        # finds a tenant's days with logs in them, logs/paging.py).
        return Policy(self.logs_days, max(self.rollup_days, self.logs_days), own=False)


@dataclass(frozen=True, slots=True)
class Policy:
    logs_days: int
    rollup_days: int
    own: bool

    def logs_cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.logs_days)

    def rollups_cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.rollup_days)


class Policies:
    """Every tenant's own policy and the defaults: what a run applies."""

    def __init__(self, defaults: Defaults, own: Mapping[str, Policy] | None = None) -> None:
        self.defaults = defaults
        self.own = dict(own or {})

    def of(self, client_id: str) -> Policy:
        return self.own.get(client_id) or self.defaults.policy

    @property
    def shortest_logs_days(self) -> int:
        return min([self.defaults.logs_days, *(p.logs_days for p in self.own.values())])


def _own_policy(row: RowMapping, defaults: Defaults) -> Policy:
    # Rollups are never kept for less time than the logs they count.
    rollup_days = max(row["rollup_days"] or defaults.rollup_days, row["logs_days"])
    return Policy(row["logs_days"], rollup_days, own=True)


async def load_policies(conn: AsyncConnection, defaults: Defaults) -> Policies:
    own = {
        row["client_id"]: _own_policy(row, defaults)
        for row in await repository.select_policies(conn)
    }
    return Policies(defaults, own)


class PolicyCache:
    """The policies a worker checks ingestion against, reloaded every few seconds (a
    change made through another worker applies here within that time)."""

    def __init__(self, engine: AsyncEngine, defaults: Defaults, *, reload_seconds: float) -> None:
        self._engine = engine
        self._reload_seconds = reload_seconds
        self.policies = Policies(defaults)

    def max_age(self, client_id: str) -> timedelta:
        return timedelta(days=self.policies.of(client_id).logs_days)

    def remember(self, client_id: str, policy: RetentionPolicy) -> None:
        """A change this worker made: applied here at once, not at the next reload."""
        own = dict(self.policies.own)
        if policy.source == "client":
            own[client_id] = Policy(policy.logs_days, policy.rollup_days, own=True)
        else:
            own.pop(client_id, None)
        self.policies = Policies(self.policies.defaults, own)

    async def reload(self) -> None:
        async with self._engine.begin() as conn:
            await state_tenant(conn, None)
            self.policies = await load_policies(conn, self.policies.defaults)

    async def run_reloader(self) -> None:
        while True:
            await asyncio.sleep(self._reload_seconds)
            try:
                await self.reload()
            except Exception as exc:  # the database may be down: keep the last known
                logger.warning("could not reload retention policies: %s", type(exc).__name__)


def describe(client_id: str | None, policy: Policy, *, now: datetime) -> RetentionPolicy:
    return RetentionPolicy(
        client_id=client_id,
        logs_days=policy.logs_days,
        rollup_days=policy.rollup_days,
        source="client" if policy.own else "default",
        logs_kept_since=policy.logs_cutoff(now),
        rollups_kept_since=policy.rollups_cutoff(now),
    )


async def get_policy(
    conn: AsyncConnection, *, client_id: str | None, defaults: Defaults, now: datetime
) -> RetentionPolicy:
    """One client's policy (client_id None: the default)."""
    row = None if client_id is None else await repository.select_policy(conn, client_id=client_id)
    policy = defaults.policy if row is None else _own_policy(row, defaults)
    return describe(client_id, policy, now=now)


async def list_policies(
    conn: AsyncConnection, *, defaults: Defaults, now: datetime
) -> RetentionPolicyList:
    policies = await load_policies(conn, defaults)
    return RetentionPolicyList(
        default=describe(None, defaults.policy, now=now),
        items=[describe(c, p, now=now) for c, p in sorted(policies.own.items())],
    )


async def set_policy(
    conn: AsyncConnection,
    *,
    client_id: str,
    update: RetentionPolicyUpdate,
    actor: str | None,
    defaults: Defaults,
    now: datetime,
) -> RetentionPolicy:
    await repository.upsert_policy(
        conn,
        client_id=client_id,
        logs_days=update.logs_days,
        rollup_days=update.rollup_days,
        updated_by=actor,
    )
    return await get_policy(conn, client_id=client_id, defaults=defaults, now=now)


async def clear_policy(
    conn: AsyncConnection, *, client_id: str, defaults: Defaults, now: datetime
) -> RetentionPolicy | None:
    """Back to the defaults; None when the tenant had no policy of its own."""
    if not await repository.delete_policy(conn, client_id=client_id):
        return None
    return await get_policy(conn, client_id=client_id, defaults=defaults, now=now)


# --- the run -------------------------------------------------------------------------------


async def prepare_partitions(
    engine: AsyncEngine, *, days_ahead: int, now: datetime | None = None
) -> int:
    """Make the daily partitions from yesterday to `days_ahead` days ahead."""
    async with engine.begin() as conn:
        return await partitions.ensure_ahead(conn, now=now or utc_now(), days_ahead=days_ahead)


async def run_retention(
    retention: AsyncEngine, *, defaults: Defaults, now: datetime, batch_rows: int
) -> RetentionRunReport:
    """One run, unless another process is running one. `retention`: an autocommit
    engine as the tables' owner (db/engine.create_maintenance_engine), since detaching
    and dropping a partition take the owner and no transaction around them."""
    async with retention.connect() as conn:
        if not await repository.try_lock(conn, _LOCK):
            return RetentionRunReport(ran=False)
        try:
            await repository.act_as_provider(conn, True)
            policies = await load_policies(conn, defaults)
            report = RetentionRunReport(ran=True)
            await _expire_logs(conn, policies, now=now, batch_rows=batch_rows, report=report)
            await _expire_rollups(conn, policies, now=now, batch_rows=batch_rows, report=report)
            return report
        finally:
            await repository.act_as_provider(conn, False)
            await repository.unlock(conn, _LOCK)


async def _expire_logs(
    conn: AsyncConnection,
    policies: Policies,
    *,
    now: datetime,
    batch_rows: int,
    report: RetentionRunReport,
) -> None:
    newest_expired = now - timedelta(days=policies.shortest_logs_days)
    every = await partitions.list_partitions(conn)
    for partition in every:
        if not partition.attached:
            await _drop(conn, partition, report)  # a drop cut short
    for partition in (p for p in every if p.attached):
        if partitions.day_start(partition.day) >= newest_expired:
            break  # this day and the later ones hold nothing any tenant let go
        tenants = await partitions.tenants_in(conn, partition)
        cutoffs = {client: policies.of(client).logs_cutoff(now) for client in tenants}
        if partition.detach_pending or all(c >= partition.end for c in cutoffs.values()):
            await _drop(conn, partition, report)
            continue
        for client, cutoff in cutoffs.items():
            if cutoff <= partitions.day_start(partition.day):
                continue
            deleted = await _in_batches(
                partial(
                    repository.delete_expired_logs,
                    conn,
                    partition,
                    client_id=client,
                    before=cutoff,
                    limit=batch_rows,
                ),
                batch_rows,
            )
            if deleted:
                report.logs_deleted[client] = report.logs_deleted.get(client, 0) + deleted


async def _drop(
    conn: AsyncConnection, partition: partitions.Partition, report: RetentionRunReport
) -> None:
    if partition.attached or partition.detach_pending:
        await partitions.detach(conn, partition)
        partition = partitions.Partition(
            partition.name, partition.day, attached=False, detach_pending=False
        )
    pages = await partitions.page_count(conn, partition)
    for first in range(0, pages, _ID_PAGES_PER_BATCH):
        await partitions.forget_ids(conn, partition, range(first, first + _ID_PAGES_PER_BATCH))
    await partitions.drop_detached(conn, partition)
    report.partitions_dropped.append(partition.name)


async def _expire_rollups(
    conn: AsyncConnection,
    policies: Policies,
    *,
    now: datetime,
    batch_rows: int,
    report: RetentionRunReport,
) -> None:
    for client in await repository.rollup_tenants(conn):
        cutoff = policies.of(client).rollups_cutoff(now)
        for table, time_column in repository.ROLLUP_TABLES:
            deleted = await _in_batches(
                partial(
                    repository.delete_expired_rollups,
                    conn,
                    table,
                    time_column,
                    client_id=client,
                    before=cutoff,
                    limit=batch_rows,
                ),
                batch_rows,
            )
            if deleted:
                report.rollup_rows_deleted[client] = (
                    report.rollup_rows_deleted.get(client, 0) + deleted
                )


# After each bounded delete, a pause as long as the delete took: row-by-row deletes write
# WAL for every page they touch (a full page image after each checkpoint), and unpaced
# they made concurrent ingestion wait on the WAL (10M-log bench: one tenant's 261k
# expired logs deleted in 55 s, ingestion's p99 up from 73 ms to 2.5 s). Paced, they
# take at most about half of the time.
_PAUSE_PER_DELETE_SECOND = 1.0


async def _in_batches(delete_batch: Callable[[], Awaitable[int]], batch_rows: int) -> int:
    """Repeat a bounded delete (one short transaction each), paced, until a batch comes
    back short; return how many rows left in all."""
    total = 0
    while True:
        started = time.monotonic()
        deleted = await delete_batch()
        total += deleted
        if deleted < batch_rows:
            return total
        await asyncio.sleep((time.monotonic() - started) * _PAUSE_PER_DELETE_SECOND)


async def run_retention_loop(
    engine: AsyncEngine,
    retention: AsyncEngine,
    *,
    defaults: Defaults,
    interval_seconds: float,
    days_ahead: int,
    batch_rows: int,
    clock: Clock = utc_now,
) -> None:
    """Inside the service: partitions ahead, then a retention run, every interval (the
    first soon after start)."""
    delay = min(interval_seconds, 60.0)
    while True:
        await asyncio.sleep(delay)
        delay = interval_seconds
        try:
            await prepare_partitions(engine, days_ahead=days_ahead, now=clock())
            report = await run_retention(
                retention, defaults=defaults, now=clock(), batch_rows=batch_rows
            )
            if report.partitions_dropped or report.logs_deleted:
                logger.info(
                    "retention: dropped %d partitions, deleted %d logs row by row",
                    len(report.partitions_dropped),
                    sum(report.logs_deleted.values()),
                )
        except Exception as exc:  # the database may be down; the next run goes on
            logger.warning("retention run failed: %s: %s", type(exc).__name__, exc)

"""The two probes of a replica's freshness: the primary's WAL position, and how far
the replica has replayed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class ReplayState:
    in_recovery: bool
    replayed_lsn: str | None
    # Seconds since the last transaction it replayed committed on the primary.
    replay_age_seconds: float | None


async def primary_wal_position(conn: AsyncConnection) -> str:
    return str((await conn.execute(select(func.pg_current_wal_lsn()))).scalar_one())


async def replay_state(conn: AsyncConnection) -> ReplayState:
    row = (
        await conn.execute(
            select(
                func.pg_is_in_recovery(),
                func.pg_last_wal_replay_lsn(),
                func.extract("epoch", func.now() - func.pg_last_xact_replay_timestamp()),
            )
        )
    ).one()
    age = row[2]
    return ReplayState(
        in_recovery=bool(row[0]),
        replayed_lsn=None if row[1] is None else str(row[1]),
        replay_age_seconds=None if age is None else float(age),
    )

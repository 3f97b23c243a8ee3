"""Reads on a streaming replica (DATABASE_READ_URL): the list, detail and metrics
reads go there while it is fresh enough; everything else, and every read while it is
not, stays on the primary.

Each process probes the replica every READ_REPLICA_PROBE_SECONDS: it is used while it
answers, is in recovery (a replica, not a second primary), and has replayed the
primary's WAL up to where it was just before the probe, or lags it by at most
READ_REPLICA_MAX_LAG_SECONDS. So a user sees a list or metrics at most that stale;
a log's detail that the replica does not have yet is read again on the primary
(logs/router.py), so a log just sent always opens. A replica that stops answering is
left at the first failed probe or connection, and taken back at the next good probe:
reads never fail because of it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncEngine

from central_logger.replica import repository

logger = logging.getLogger(__name__)

_PROBE_TIMEOUT_SECONDS = 2.0


class ReplicaStatus(StrEnum):
    UNKNOWN = "unknown"
    OK = "ok"
    LAGGING = "lagging"
    UNAVAILABLE = "unavailable"


def _lsn(text: str) -> int:
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


class ReadReplica:
    def __init__(
        self,
        engine: AsyncEngine,
        primary: AsyncEngine,
        *,
        max_lag_seconds: float,
        probe_seconds: float,
    ) -> None:
        self.engine = engine
        self._primary = primary
        self.max_lag_seconds = max_lag_seconds
        self.probe_seconds = probe_seconds
        self.status = ReplicaStatus.UNKNOWN
        self.lag_seconds: float | None = None

    def usable(self) -> bool:
        return self.status is ReplicaStatus.OK

    def mark_unavailable(self) -> None:
        """A read could not connect: the primary serves until the next good probe."""
        if self.status is not ReplicaStatus.UNAVAILABLE:
            logger.warning("read replica unavailable: reads go to the primary")
        self.status = ReplicaStatus.UNAVAILABLE

    async def probe(self) -> ReplicaStatus:
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_SECONDS):
                async with self._primary.connect() as conn:
                    position = await repository.primary_wal_position(conn)
                async with self.engine.connect() as conn:
                    state = await repository.replay_state(conn)
        except Exception as exc:  # any failure to answer is "unavailable"
            logger.debug("read replica probe failed: %s", type(exc).__name__)
            self.lag_seconds = None
            self.mark_unavailable()
            return self.status
        if not state.in_recovery or state.replayed_lsn is None:
            # Not a replica (a promoted one, or a primary named by mistake): not used,
            # since writes to it would be lost to the primary's readers.
            self.lag_seconds = None
            self.status = ReplicaStatus.UNAVAILABLE
            return self.status
        if _lsn(state.replayed_lsn) >= _lsn(position):
            self.lag_seconds = 0.0
        else:
            self.lag_seconds = (
                state.replay_age_seconds if state.replay_age_seconds is not None else math.inf
            )
        lagging = self.lag_seconds > self.max_lag_seconds
        if lagging and self.status is ReplicaStatus.OK:
            logger.warning("read replica lags %.1f s: reads go to the primary", self.lag_seconds)
        self.status = ReplicaStatus.LAGGING if lagging else ReplicaStatus.OK
        return self.status

    async def run_prober(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self.probe_seconds)

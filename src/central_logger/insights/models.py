"""The insights' own row types: what the rollups hold for one cell of one hour or day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from central_logger.metrics.histogram import BUCKETS


@dataclass(frozen=True, slots=True)
class CellKey:
    """A (client, workflow version, environment, category) of the version rollups; a log
    without a category is under '', one without a version under None."""

    client_id: str
    version: str | None
    environment: str
    category: str


@dataclass(slots=True)
class Tally:
    """Runs, failures and the execution-time histogram (metrics/histogram.py) of a set
    of logs; tallies add up."""

    runs: int = 0
    failed_runs: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def add(self, other: Tally, sign: int = 1) -> None:
        self.runs += sign * other.runs
        self.failed_runs += sign * other.failed_runs
        for bucket, count in enumerate(other.histogram):
            if count:
                self.histogram[bucket] += sign * count


@dataclass(frozen=True, slots=True)
class CellTally:
    key: CellKey
    start: datetime  # the hour or day (UTC) the tally is of
    tally: Tally


@dataclass(frozen=True, slots=True)
class FailedRun:
    """A failed run as failure patterns read it."""

    id: str
    client_id: str
    executed_at: datetime
    version: str | None
    category: str | None
    status: str
    step: str | None
    error: str | None

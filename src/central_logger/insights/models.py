"""The insights' own row types: what the rollups hold for one cell of one hour or day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from central_logger.metrics.histogram import BUCKETS, percentile


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
    of logs; tallies add up. The histogram is sparse (bucket -> logs): a cell's hour
    fills a handful of the 128 buckets, and adding tallies is the insights' inner loop."""

    runs: int = 0
    failed_runs: int = 0
    histogram: dict[int, int] = field(default_factory=dict)

    def record(self, bucket: int, logs: int) -> None:
        self.histogram[bucket] = self.histogram.get(bucket, 0) + logs

    def add(self, other: Tally, sign: int = 1) -> None:
        self.runs += sign * other.runs
        self.failed_runs += sign * other.failed_runs
        mine = self.histogram
        for bucket, logs in other.histogram.items():
            mine[bucket] = mine.get(bucket, 0) + sign * logs

    def percentile(self, fraction: float) -> float | None:
        """As the metrics API reads it from the same histogram."""
        counts = [0] * BUCKETS
        for bucket, logs in self.histogram.items():
            counts[bucket] = logs
        return percentile(counts, fraction)


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

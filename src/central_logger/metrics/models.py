"""The metrics domain's own types: where a range is read from, and what is read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from central_logger.db.driver import Row

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Segments:
    """Where each part of a range is read from; spans are half-open [start, end)."""

    raw: list[Span] = field(default_factory=list)
    hourly: list[Span] = field(default_factory=list)
    daily: Span | None = None
    pending: Span | None = None
    # Hours of a partial day read whole from the daily rollup that lie outside the
    # range: their hourly rows are subtracted (fewer rows than adding the other hours).
    subtracted_hourly: list[Span] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MetricsQuery:
    client_id: str | None
    segments: Segments
    environment: str | None


@dataclass(frozen=True, slots=True)
class OverviewRows:
    splits: Sequence[Row]  # `grouping_set`: total, status, environment or series
    histogram: list[int]


@dataclass(frozen=True, slots=True)
class CategoryRows:
    counts: Sequence[Row]
    histograms: dict[str, list[int]]

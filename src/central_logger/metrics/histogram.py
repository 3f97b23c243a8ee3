"""The execution-time histogram the rollups keep: 128 log-scale buckets from 10 ms
(bucket 0 also holds anything faster) growing by 10% each, up to about 32 minutes
(bucket 127 also holds anything slower). A percentile read from it is interpolated
inside its bucket, so it is within 10% of the exact value, and in practice within a
few percent (docs/performance.md states the measured error)."""

from __future__ import annotations

import math
from collections.abc import Sequence

BUCKETS = 128
SMALLEST_SECONDS = 0.01
GROWTH = 1.1
COLUMNS = [f"h{i:03d}" for i in range(BUCKETS)]


def bucket_sql(seconds: str) -> str:
    """The bucket of a duration, as SQL; must agree with `bucket_of`."""
    return (
        f"LEAST({BUCKETS - 1}, GREATEST(0, floor(ln(GREATEST({seconds}, {SMALLEST_SECONDS})"
        f" / {SMALLEST_SECONDS}) / ln({GROWTH}))::int))"
    )


def bucket_of(seconds: float) -> int:
    ratio = max(seconds, SMALLEST_SECONDS) / SMALLEST_SECONDS
    return min(BUCKETS - 1, max(0, math.floor(math.log(ratio) / math.log(GROWTH))))


def _lower_edge(bucket: int) -> float:
    return SMALLEST_SECONDS * GROWTH**bucket


def percentile(counts: Sequence[int], fraction: float) -> float | None:
    """PostgreSQL percentile_cont's rank (fraction * (n - 1)), located in the histogram
    and interpolated geometrically inside its bucket."""
    total = sum(counts)
    if total == 0:
        return None
    rank = fraction * (total - 1)
    seen = 0
    for bucket, count in enumerate(counts):
        if count and rank < seen + count:
            within = (rank - seen + 0.5) / count
            return float(_lower_edge(bucket) * GROWTH**within)
        seen += count
    return _lower_edge(BUCKETS - 1)

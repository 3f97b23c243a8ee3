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
    """PostgreSQL percentile_cont's rank (fraction * (n - 1)), located in the histogram:
    the i-th of a bucket's `count` values is taken at (i + 0.5) / count of the way
    through it (geometrically). A rank between two values of one bucket lies between
    their places; a rank between a bucket's last value and the next value, in a later
    bucket, is interpolated linearly between the two, as percentile_cont does (placing
    it inside the first bucket said 1.07 s for the p95 of 1, 1, 1, 1 and 10 s, where
    percentile_cont says 8.2 s)."""
    total = sum(counts)
    if total == 0:
        return None
    rank = fraction * (total - 1)
    seen = 0
    for bucket, count in enumerate(counts):
        if count and rank < seen + count:
            last = seen + count - 1
            if rank <= last:
                return _value_at(bucket, count, rank - seen)
            following = next((b for b in range(bucket + 1, BUCKETS) if counts[b]), None)
            if following is None:
                return _value_at(bucket, count, count - 1)
            low = _value_at(bucket, count, count - 1)
            high = _value_at(following, counts[following], 0)
            return low + (rank - last) * (high - low)
        seen += count
    return _lower_edge(BUCKETS - 1)


def _value_at(bucket: int, count: int, index: float) -> float:
    """Where the `index`-th (0-based, fractional between two) of a bucket's `count`
    values is taken to be."""
    return float(_lower_edge(bucket) * GROWTH ** ((index + 0.5) / count))

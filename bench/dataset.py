"""The benchmark's data: 20 clients, 3 environments, 12 categories, a mix of statuses,
executed_at over 30 days, metrics, and a ~1 KB payload holding a 5-step trace (the
demo's realistic sample logs)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from central_logger.demo import sample_log
from central_logger.logs.models import LogRow
from central_logger.logs.validation import to_row


def client_ids(count: int) -> list[str]:
    return [f"bench_client_{i:02d}" for i in range(count)]


def sample_logs(
    seed: int,
    count: int,
    *,
    days: float,
    with_ids: bool = True,
    window: tuple[float, float] | None = None,
) -> list[dict[str, Any]]:
    """`count` logs executed within the last `days` (at least a minute ago), or, with
    `window` = (oldest, newest) as fractions of `days` back (1.0 = `days` ago, 0.0 =
    now), within that slice of it."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    span = days * 86400 - 60
    oldest, newest = window or (1.0, 0.0)
    logs = []
    for _ in range(count):
        log = sample_log(
            rng,
            executed_at=now - timedelta(seconds=60 + span * rng.uniform(newest, oldest)),
            version=rng.choice(("1.3.0", "1.4.0", "1.4.1")),
        )
        if not with_ids:
            del log["id"]
        logs.append(log)
    return logs


def validated(logs: list[dict[str, Any]]) -> list[LogRow]:
    """The logs as rows, validated the way the API validates them (a log without an id
    gets a new UUIDv7, as in the service)."""
    rows = []
    for log in logs:
        row = to_row(log, check_nul=False, max_future=timedelta(hours=1))
        assert isinstance(row, LogRow), row
        rows.append(row)
    return rows


def sample_rows(
    seed: int, count: int, *, days: int, window: tuple[float, float] | None = None
) -> list[LogRow]:
    return validated(sample_logs(seed, count, days=days, window=window))

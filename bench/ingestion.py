"""The batch ingestion phase: for each workload, PostgreSQL's COPY of the very rows the
HTTP senders post, then the senders themselves, each phase starting on a settled
system (the rollup folder has caught up with the phase before)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
import psycopg

from bench import limits
from bench.dataset import sample_logs
from bench.load import batch_ingestion

# Name -> how many days back executed_at is spread (None: the data set's --days). A
# backfill spreads each batch over the whole month, the worst case for the rollups
# (nearly every log lands in an hour cell of its own); live shippers send runs that
# just finished.
WORKLOADS = {"backfill": None, "live": 1 / 24}


def settle(url: str, *, timeout_seconds: float = 180) -> float:
    """Wait until the service's folder has folded every pending rollup delta; seconds
    waited. A phase measured while the last one's deltas are folded would be charged
    for that work."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        while time.perf_counter() - started < timeout_seconds:
            pending = conn.execute(
                "SELECT EXISTS (SELECT FROM workflow_log_rollup_pending)"
                " OR EXISTS (SELECT FROM workflow_log_rollup_histogram_pending)"
            ).fetchone()
            if pending is not None and not pending[0]:
                return time.perf_counter() - started
            time.sleep(0.5)
    print(f"warning: rollup deltas still pending after {timeout_seconds:.0f} s", flush=True)
    return time.perf_counter() - started


def workload_bodies(clients: list[str], *, days: float) -> list[bytes]:
    """1000-log batch bodies; body i goes out with client i's key."""
    return [
        orjson.dumps({"logs": sample_logs(7000 + i, 1000, days=days, with_ids=False)})
        for i in range(len(clients))
    ]


def batch_phase(
    url: str,
    base: str,
    *,
    clients: list[str],
    keys: list[str],
    days: float,
    copy_rows: int,
    seconds: float,
    on_tick: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """COPY of the workload's rows and the same rows over HTTP, on a settled system.
    COPY writes the logs of the bodies the senders post, for the same clients."""
    bodies = workload_bodies(clients, days=days)
    settle(url)
    copy_rate = limits.copy_rate(
        url,
        [(clients[i % len(clients)], bodies[i % len(bodies)]) for i in range(copy_rows // 1000)],
    )
    settle(url)
    batch = asyncio.run(
        batch_ingestion(base, keys, bodies, seconds=seconds, concurrency=4, on_tick=on_tick)
    )
    batch["settle_seconds_after"] = settle(url)
    return {"copy_rows_per_second": copy_rate, "batch": batch}

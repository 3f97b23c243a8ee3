"""Batch ingestion throughput over HTTP against a `serve` process, for before/after
comparisons of the ingestion path (docs/reliability.md, fairness):

    python -m bench.batch_throughput --database-url postgresql://postgres@127.0.0.1/db

Each round empties the logs and rollup tables, starts `central-logger serve`, posts
1000-log batches from `--senders` concurrent senders (each its own tenant) for
`--seconds`, and prints the logs/s accepted, then the p50/p95 of one sender's batches
alone. The service takes its other settings from the environment (PARSE_PROCESSES=0
parses in a thread of the service worker)."""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import httpx
import orjson
import psycopg

from bench.dataset import sample_logs
from bench.load import batch_ingestion, percentiles
from bench.perf import start_service, tenant_key

_TABLES = (
    "workflow_logs, workflow_log_rollup_pending, workflow_log_rollup_hourly,"
    " workflow_log_rollup_daily, workflow_log_rollup_histogram_pending,"
    " workflow_log_rollup_histogram_hourly, workflow_log_rollup_histogram_daily"
)


def _empty(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('workflow_logs')").fetchone()
        if exists is not None and exists[0] is not None:
            conn.execute(f"TRUNCATE {_TABLES}")
            conn.execute("CHECKPOINT")


async def _alone(base: str, key: str, body: bytes, count: int) -> list[float]:
    timings: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for _ in range(count):
            started = time.perf_counter()
            response = await http.post(
                "/api/v1/logs/batch",
                content=body,
                headers={"X-API-Key": key, "Content-Type": "application/json"},
            )
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--alone", type=int, default=30, help="batches sent one at a time")
    args = parser.parse_args()

    clients = [f"bench_{i}" for i in range(args.senders)]
    keys = [tenant_key(c) for c in clients]
    bodies = [
        orjson.dumps({"logs": sample_logs(9000 + i, 1000, days=1 / 24, with_ids=False)})
        for i in range(args.senders)
    ]
    _empty(args.database_url)
    process, base = start_service(args.database_url, clients, args.workers)
    try:
        asyncio.run(_alone(base, keys[0], bodies[0], 3))  # warm: workers, plans
        figures = asyncio.run(
            batch_ingestion(base, keys, bodies, seconds=args.seconds, concurrency=args.senders)
        )
        alone = percentiles(asyncio.run(_alone(base, keys[0], bodies[0], args.alone)))
    finally:
        process.terminate()
        process.wait(30)
    print(
        f"PARSE_PROCESSES={os.environ.get('PARSE_PROCESSES', 'default')}"
        f" senders={args.senders} workers={args.workers}:"
        f" {figures['logs_per_second']:.0f} logs/s ({figures['errors']:.0f} errors);"
        f" one sender alone: batch p50 {alone.p50_ms:.1f} ms, p95 {alone.p95_ms:.1f} ms",
        flush=True,
    )


if __name__ == "__main__":
    main()

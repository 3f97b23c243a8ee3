"""Retention under load (docs/performance.md, "Retention under load"): a steady ingestion
load over HTTP from a separate process, timed request by request, while the service's
own retention run (retention.service.run_retention, with a clock the bench chooses)
(a) drops the oldest days of logs (DETACH PARTITION CONCURRENTLY, the ids in batches,
DROP) and (b) deletes a large share of one tenant's logs in bounded batches after its
policy is shortened through the admin API. Each request is compared with the p99 of
the same load measured just before, without retention."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg

from bench.dataset import sample_logs
from bench.load import percentiles
from central_logger.db import partitions
from central_logger.db.engine import create_maintenance_engine
from central_logger.retention.service import Defaults, run_retention
from central_logger.settings import Settings

# (wall-clock start, latency ms, HTTP status) of one request.
Sample = tuple[float, float, int]


def _steady_load(
    base: str,
    keys: list[str],
    bodies: list[bytes],
    senders: int,
    requests_per_second: float,
    stop: Any,
    out: Any,
) -> None:
    """`senders` senders, each posting a batch every 1/`requests_per_second` s (paced, not
    back to back: a steady load, not a saturating one), until `stop` is set."""

    async def run() -> list[Sample]:
        samples: list[Sample] = []

        async def sender(worker: int) -> None:
            async with httpx.AsyncClient(
                base_url=base, timeout=120, limits=httpx.Limits(max_keepalive_connections=0)
            ) as http:
                i = worker
                due = time.perf_counter() + worker / (senders * requests_per_second)
                while not stop.is_set():
                    wall, started = time.time(), time.perf_counter()
                    response = await http.post(
                        "/api/v1/logs/batch",
                        content=bodies[i % len(bodies)],
                        headers={
                            "X-API-Key": keys[i % len(keys)],
                            "Content-Type": "application/json",
                        },
                    )
                    samples.append(
                        (wall, (time.perf_counter() - started) * 1000, response.status_code)
                    )
                    i += senders
                    due += 1 / requests_per_second
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    else:
                        due = time.perf_counter()

        await asyncio.gather(*(sender(w) for w in range(senders)))
        return samples

    out.put(asyncio.run(run()))


def _window(samples: list[Sample], start: float, end: float) -> dict[str, Any]:
    """The requests that were in flight at any moment of [start, end]."""
    inside = [s for s in samples if s[0] <= end and s[0] + s[1] / 1000 >= start]
    latencies = [s[1] for s in inside]
    if not latencies:
        return {"requests": 0}
    stats = percentiles(latencies)
    return {
        "requests": len(inside),
        "non_2xx": sum(1 for s in inside if not 200 <= s[2] < 300),
        "p50_ms": stats.p50_ms,
        "p99_ms": stats.p99_ms,
        "max_ms": max(latencies),
        "seconds": end - start,
    }


def _oldest_days(url: str) -> tuple[list[str], int, datetime]:
    """The partitions up to and including the first full day with logs (the oldest day
    holding logs is a partial one), their rows, and the day after them."""
    with psycopg.connect(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = 'workflow_logs'::regclass ORDER BY c.relname"
            )
        ]
        chosen: list[str] = []
        rows = holding = 0
        for name in names:  # named by day: in order
            found = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            count = int(found[0]) if found else 0
            chosen.append(name)
            rows += count
            holding += count > 0
            if holding == 2:
                break
    last = datetime.strptime(chosen[-1].rsplit("_p", 1)[1], "%Y%m%d").date()
    return chosen, rows, partitions.day_start(last + timedelta(days=1))


async def _retention(url: str, defaults: Defaults, now: datetime) -> dict[str, Any]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    engine = create_maintenance_engine(settings, url)
    try:
        for _ in range(30):  # the service's own run may hold the lock for a moment
            report = await run_retention(
                engine, defaults=defaults, now=now, batch_rows=settings.retention_delete_batch_rows
            )
            if report.ran:
                return report.model_dump()
            await asyncio.sleep(1)
    finally:
        await engine.dispose()
    raise RuntimeError("the retention lock stayed taken")


def retention_under_load(
    url: str,
    base: str,
    *,
    clients: list[str],
    keys: list[str],
    admin_key: str,
    baseline_seconds: float = 40,
    gap_seconds: float = 10,
    senders: int = 4,
    requests_per_second: float = 3,
    tenant_logs_days: int = 15,
) -> dict[str, Any]:
    """Figures of both retention runs against the same load without retention."""
    # Live logs (executed in the last hour), 100 per request: what shippers send, and
    # never for a day being dropped.
    bodies = [
        orjson.dumps({"logs": sample_logs(9100 + i, 100, days=1 / 24, with_ids=False)})
        for i in range(len(clients))
    ]
    dropped, dropped_rows, expired_before = _oldest_days(url)
    victim = clients[5 % len(clients)]
    tenant_cutoff = datetime.now(UTC) - timedelta(days=tenant_logs_days)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM workflow_logs WHERE client_id = %s AND executed_at < %s",
            (victim, tenant_cutoff),
        ).fetchone()
        tenant_rows = int(row[0]) if row else 0

    stop = multiprocessing.Event()
    out: Any = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=_steady_load,
        args=(base, keys, bodies, senders, requests_per_second, stop, out),
    )
    process.start()
    try:
        begun = time.time()
        time.sleep(baseline_seconds)
        # (a) Every tenant on a 30-day policy, with a clock at which the oldest partial
        # day and the first full day are past it: both partitions are dropped whole.
        logs_days = 30
        a_start = time.time()
        report_a = asyncio.run(
            _retention(
                url,
                Defaults(logs_days=logs_days, rollup_days=36500),
                expired_before + timedelta(days=logs_days),
            )
        )
        a_end = time.time()
        time.sleep(gap_seconds)
        # (b) One tenant's own policy shortened to `tenant_logs_days` (the admin API, as
        # an operator does), then a run at the real time with the service's defaults: the
        # tenant's older logs leave in bounded deletes, partition by partition.
        httpx.put(
            f"{base}/api/v1/admin/retention/{victim}",
            json={"logs_days": tenant_logs_days},
            headers={"X-API-Key": admin_key},
            timeout=30,
        ).raise_for_status()
        b_start = time.time()
        report_b = asyncio.run(
            _retention(url, Defaults(logs_days=365, rollup_days=730), datetime.now(UTC))
        )
        b_end = time.time()
        time.sleep(gap_seconds)
    finally:
        stop.set()
        samples: list[Sample] = out.get(timeout=300)
        process.join(60)
    httpx.delete(
        f"{base}/api/v1/admin/retention/{victim}", headers={"X-API-Key": admin_key}, timeout=30
    )
    # The first seconds warm the connections; the baseline is the rest before (a).
    baseline = _window(samples, begun + 5, a_start)
    return {
        "load": {
            "senders": senders,
            "requests_per_second_each": requests_per_second,
            "logs_per_request": 100,
        },
        "baseline": baseline,
        "drop_days": {
            "partitions": dropped,
            "rows": dropped_rows,
            "report": report_a,
            "during": _window(samples, a_start, a_end),
        },
        "tenant_delete": {
            "client_id": victim,
            "logs_days": tenant_logs_days,
            "rows": tenant_rows,
            "report": report_b,
            "during": _window(samples, b_start, b_end),
        },
    }

"""The live tail and the export against `central-logger serve --workers 2` (issue 16):

    python -m bench.stream --database-url postgresql://postgres@127.0.0.1/postgres

1. commit-to-event latency: 1,000 logs/s ingested (10-log batches, paced) while 20
   streams (admin key, every tenant) read; per event, the time it arrived minus the
   log's created_at (its transaction's start: an upper bound of commit-to-event);
2. batch ingestion (1000-log batches, 4 senders) with 0 and with 50 open streams,
   and with LIVE_TAIL_ENABLED=false (no NOTIFY at all): what the tail costs ingestion;
3. export: `--export-rows` logs loaded (through the service's insert), then one JSONL
   export of all of them: rows/s and the workers' RSS growth.

The stream readers run in this process (asyncio); on a 2-core machine they compete
with the service for the CPU, which the figures include."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import threading
import time
from datetime import datetime
from typing import Any

import httpx
import orjson
import psycopg

from bench.batch_throughput import _empty as _empty_logs
from bench.dataset import client_ids, sample_logs
from bench.load import batch_ingestion, percentiles, worker_rss_mb
from bench.perf import ADMIN_KEY, load, prepare_database, start_service, tenant_key
from central_logger.db.migrate import upgrade_to_head


def _empty(url: str) -> None:
    """The logs and their ids gone (a load with the same seed makes the same ids)."""
    _empty_logs(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE workflow_log_ids")


def _service(url: str, clients: list[str], **env: str) -> tuple[Any, str]:
    env = {"LIVE_TAIL_ENABLED": "true", **env}  # off by default (docs/live-tail.md)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return start_service(url, clients, workers=2)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _stop(process: Any) -> None:
    process.terminate()
    try:
        process.wait(30)
    except Exception:
        process.kill()


async def _reader(
    base: str, stop: asyncio.Event, latencies: list[float] | None, counts: list[int]
) -> None:
    """One stream on a bare socket (an HTTP client's per-line work would make the
    reader, not the service, the bottleneck): counts events; with `latencies`, arrival
    minus created_at per event."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = f"GET /api/v1/logs/stream HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {ADMIN_KEY}"
    writer.write(f"{head}\r\n\r\n".encode())
    reading = asyncio.ensure_future(_read(reader, latencies, counts))
    await stop.wait()
    reading.cancel()
    writer.close()
    with contextlib.suppress(asyncio.CancelledError, OSError):
        await reading


_MARK = b'"created_at":"'


async def _read(
    reader: asyncio.StreamReader, latencies: list[float] | None, counts: list[int]
) -> None:
    while chunk := await reader.read(1 << 16):
        now = time.time()
        counts[0] += chunk.count(b"event: log")
        if latencies is None:
            continue
        at = chunk.find(_MARK)
        while at >= 0:
            start = at + len(_MARK)
            end = chunk.find(b'"', start)
            if end < 0:
                break
            created = datetime.fromisoformat(chunk[start:end].decode())
            latencies.append((now - created.timestamp()) * 1000)
            at = chunk.find(_MARK, end)


async def _paced_ingest(base: str, keys: list[str], *, rate: int, seconds: float) -> int:
    """`rate` logs/s as 10-log batches from a few senders, on a fixed schedule."""
    bodies = [orjson.dumps(sample_logs(i, 10, days=0.01, with_ids=False)) for i in range(50)]
    per_second = rate // 10
    sent = 0
    started = time.perf_counter()

    async def sender(worker: int, senders: int) -> None:
        nonlocal sent
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            n = worker
            while True:
                due = started + n / per_second
                if due - started > seconds:
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                response = await http.post(
                    "/api/v1/logs/batch",
                    content=bodies[n % len(bodies)],
                    headers={"X-API-Key": keys[n % len(keys)], "Content-Type": "application/json"},
                )
                if response.status_code == 200:
                    sent += response.json()["accepted"]
                n += senders

    await asyncio.gather(*(sender(w, 8) for w in range(8)))
    return sent


async def latency_round(
    base: str, keys: list[str], *, streams: int, seconds: float
) -> dict[str, Any]:
    stop = asyncio.Event()
    latencies: list[float] = []
    counts = [0]
    readers = [
        asyncio.ensure_future(_reader(base, stop, latencies, counts)) for _ in range(streams)
    ]
    await asyncio.sleep(2)  # every stream subscribed
    sent = await _paced_ingest(base, keys, rate=1000, seconds=seconds)
    await asyncio.sleep(2)  # the last events arrive
    stop.set()
    await asyncio.gather(*readers, return_exceptions=True)
    summary = percentiles(latencies)
    return {
        "ingested": sent,
        "ingested_per_second": sent / seconds,
        "events_received": counts[0],
        "events_expected": sent * streams,
        "p50_ms": summary.p50_ms,
        "p95_ms": summary.p95_ms,
        "p99_ms": summary.p99_ms,
    }


async def ingestion_round(
    base: str, keys: list[str], *, streams: int, seconds: float
) -> dict[str, Any]:
    stop = asyncio.Event()
    counts = [0]
    readers = [asyncio.ensure_future(_reader(base, stop, None, counts)) for _ in range(streams)]
    if streams:
        await asyncio.sleep(2)
    bodies = [orjson.dumps(sample_logs(100 + i, 1000, days=0.5, with_ids=False)) for i in range(8)]
    result = await batch_ingestion(base, keys, bodies, seconds=seconds, concurrency=4)
    stop.set()
    await asyncio.gather(*readers, return_exceptions=True)
    return {**result, "streams": streams, "events_received": counts[0]}


def export_round(base: str, process_pid: int) -> dict[str, Any]:
    peak = [0.0]
    done = threading.Event()
    before = sum(worker_rss_mb(process_pid))

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], sum(worker_rss_mb(process_pid)))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rows = 0
    size = 0
    started = time.perf_counter()
    with (
        httpx.Client(base_url=base, timeout=None) as http,
        http.stream(
            "GET",
            "/api/v1/logs/export",
            params={"format": "jsonl"},
            headers={"X-API-Key": ADMIN_KEY},
        ) as response,
    ):
        response.raise_for_status()
        for chunk in response.iter_bytes():
            rows += chunk.count(b"\n")
            size += len(chunk)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return {
        "rows": rows,
        "seconds": elapsed,
        "rows_per_second": rows / elapsed,
        "megabytes": size / 2**20,
        "workers_rss_before_mb": before,
        "workers_rss_peak_mb": peak[0],
        "rss_growth_mb": peak[0] - before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=None, help="an empty database it may fill (default: embedded)"
    )
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["latency", "ingestion", "export"], default=None)
    args = parser.parse_args()
    # A database of this bench's own (bench.perf's is shared by name with other benches).
    url = args.database_url or prepare_database(None)
    upgrade_to_head(url)
    clients = client_ids(4)
    keys = [tenant_key(c) for c in clients]
    env = {"STREAM_MAX_PER_KEY": "100", "RATE_LIMIT_ENABLED": "false"}
    results: dict[str, Any] = {}

    wanted = {args.only} if args.only else {"latency", "ingestion", "export"}
    if wanted & {"latency", "ingestion"}:
        process, base = _service(url, clients, **env)
        try:
            if "latency" in wanted:
                print("latency: 1000 logs/s, 20 streams ...", flush=True)
                results["latency_20_streams"] = asyncio.run(
                    latency_round(base, keys, streams=20, seconds=args.seconds)
                )
                print(results["latency_20_streams"], flush=True)
            for streams in (0, 50) if "ingestion" in wanted else ():
                _empty(url)
                print(f"batch ingestion with {streams} streams ...", flush=True)
                key = f"ingestion_{streams}_streams"
                results[key] = asyncio.run(
                    ingestion_round(base, keys, streams=streams, seconds=args.seconds)
                )
                print(results[key], flush=True)
        finally:
            _stop(process)

    if "ingestion" in wanted:
        _empty(url)
        process, base = _service(url, clients, **env, LIVE_TAIL_ENABLED="false")
        try:
            print("batch ingestion with the live tail off (no NOTIFY) ...", flush=True)
            results["ingestion_tail_off"] = asyncio.run(
                ingestion_round(base, keys, streams=0, seconds=args.seconds)
            )
            print(results["ingestion_tail_off"], flush=True)
        finally:
            _stop(process)

    if "export" in wanted:
        _empty(url)
        print(f"loading {args.export_rows} logs for the export ...", flush=True)
        load(url, clients=clients, count=args.export_rows, days=30, seed=7)
        process, base = _service(url, clients, **env, EXPORT_MAX_ROWS=str(args.export_rows + 1))
        try:
            print("export (JSONL, every log) ...", flush=True)
            results["export"] = export_round(base, process.pid)
            print(results["export"], flush=True)
        finally:
            _stop(process)

    _summary(results)


def _summary(results: dict[str, Any]) -> None:
    print()
    if "latency_20_streams" in results:
        p95 = results["latency_20_streams"]["p95_ms"]
        print(f"commit-to-event p95, 1000 logs/s, 20 streams: {p95:.0f} ms")
    if "ingestion_tail_off" in results:
        with_50 = results["ingestion_50_streams"]["logs_per_second"]
        without = results["ingestion_0_streams"]["logs_per_second"]
        off = results["ingestion_tail_off"]["logs_per_second"]
        print(
            f"ingestion 50 streams / none: {with_50 / without:.2f} ({with_50:.0f}/{without:.0f}/s)"
        )
        print(f"ingestion NOTIFY / tail off: {without / off:.2f} ({without:.0f} / {off:.0f}/s)")
    if "export" not in results:
        return
    export = results["export"]
    print(
        f"export: {export['rows']} rows in {export['seconds']:.1f} s"
        f" = {export['rows_per_second']:.0f} rows/s,"
        f" workers' RSS growth {export['rss_growth_mb']:.1f} MB"
    )


if __name__ == "__main__":
    main()

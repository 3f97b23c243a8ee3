"""`make bench` / `make bench-full`: the service against the limits of this machine.

    .venv/bin/python -m bench.perf --logs 1000000            # make bench
    .venv/bin/python -m bench.perf --checkpoints 1000000,10000000 --soak-seconds 600

Loads the data set through the service's own insert path, measures query and metrics
latency at each checkpoint, then drives ingestion over HTTP against `central-logger
serve --workers N` with COPY and /health as the limits measured in the same run.
Prints a table and writes the figures as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from bench import limits
from bench.dataset import client_ids, sample_logs, sample_rows
from bench.ingestion import WORKLOADS, batch_phase, settle, workload_bodies
from bench.inprocess import metrics_latency
from bench.load import (
    batch_ingestion,
    fixed_get_latency,
    sequential_latency,
    worker_rss_mb,
    wrk,
)
from bench.report import agreement, jsonable, report
from bench.retention_load import retention_under_load
from central_logger.db.embedded import start_embedded
from central_logger.db.engine import create_engine
from central_logger.db.migrate import upgrade_to_head
from central_logger.db.tenancy import state_tenant
from central_logger.logs.models import TenantRow
from central_logger.logs.repository import insert_rows
from central_logger.metrics.histogram import GROWTH
from central_logger.settings import Settings

RESULTS = Path(__file__).parent / "results"
ADMIN_KEY = "bench_admin_" + secrets.token_hex(8)


def tenant_key(client_id: str) -> str:
    return f"bench_key_{client_id}"


def prepare_database(url: str | None) -> str:
    name = "central_logger_bench"
    if url is None:
        scratch = Path(tempfile.mkdtemp(prefix="central-logger-bench-"))
        scratch.chmod(0o755)
        url = start_embedded(scratch / "pgdata", database="postgres", throwaway=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        server_version = conn.execute("SHOW server_version").fetchone()
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    bench_url = psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]
    if bench_url.startswith("postgresql://") is False:
        bench_url = _as_url(info)
    upgrade_to_head(bench_url)
    print(f"database: PostgreSQL {server_version[0] if server_version else '?'}", flush=True)
    return bench_url


def _as_url(info: dict[str, Any]) -> str:
    host = info.get("host", "")
    user = info.get("user", "postgres")
    if str(host).startswith("/"):
        return f"postgresql://{user}@/{info['dbname']}?host={host}"
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}@{host}{port}/{info['dbname']}"


def _load_part(args: tuple[str, list[str], int, int, int]) -> int:
    url, clients, seed, count, days = args

    async def run() -> int:
        engine = create_engine(Settings(_env_file=None), url)  # type: ignore[call-arg]
        stored = 0
        batches = -(-count // 1000)
        try:
            for batch, start in enumerate(range(0, count, 1000)):
                # Oldest first, each batch a thin slice of the range: a store that has
                # been receiving logs for `days` got them in about this order, so one
                # day's partition is written at a time (a batch spread over the whole
                # range writes into every partition's indexes at once).
                window = (1 - batch / batches, 1 - (batch + 1) / batches)
                rows = sample_rows(
                    seed * 1_000_003 + batch, min(1000, count - start), days=days, window=window
                )
                # Every client in every batch, as the writer's flushes mix the requests
                # of many tenants (and a client's logs cover the whole range evenly).
                tenant_rows = [
                    TenantRow(clients[(start + i) % len(clients)], r) for i, r in enumerate(rows)
                ]
                async with engine.begin() as conn:
                    await state_tenant(conn, None)  # the provider, as the writer does
                    stored += len(await insert_rows(conn, tenant_rows))
        finally:
            await engine.dispose()
        return stored

    return asyncio.run(run())


def make_partitions(url: str, *, days: int) -> int:
    """The daily partitions of the data set's range (and a day either side): the bench
    loads through insert_rows, below the writer that makes a missing day on demand."""
    today = datetime.now(UTC).date()
    wanted = [today - timedelta(days=n) for n in range(-1, days + 2)]
    with psycopg.connect(url, autocommit=True) as conn:
        made = conn.execute(
            "SELECT count(*) FILTER (WHERE made) FROM unnest(%s::date[]) AS d(day),"
            " LATERAL workflow_logs_create_partition(d.day) AS made",
            (wanted,),
        ).fetchone()
    return int(made[0]) if made else 0


def stored_logs(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM workflow_log_ids").fetchone()
    return int(row[0]) if row else 0


def load(url: str, *, clients: list[str], count: int, days: int, seed: int) -> float:
    """Logs per second through the service's insert (ids into workflow_log_ids, logs into
    their day's partition, the rollup trigger), 2 processes."""
    make_partitions(url, days=days)
    started = time.perf_counter()
    streams = 2
    with multiprocessing.Pool(streams) as pool:
        stored = sum(
            pool.map(
                _load_part,
                [
                    (url, clients[i::streams], seed + i, count // streams, days)
                    for i in range(streams)
                ],
            )
        )
    rate = stored / (time.perf_counter() - started)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT workflow_log_rollup_fold()")
        # What autovacuum does on a running system within a minute or so of a load.
        conn.execute("VACUUM (ANALYZE)")
    return rate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(
    url: str, clients: list[str], workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "API_KEYS": json.dumps({tenant_key(c): c for c in clients}),
        "ADMIN_API_KEYS": json.dumps([ADMIN_KEY]),
        "LOG_LEVEL": "warning",
        "ENVIRONMENT": "production",
        # Rate limits (when configured) must not be what this measures.
        "RATE_LIMIT_ENABLED": "false",
    }
    executable = str(Path(sys.executable).parent / "central-logger")
    process = subprocess.Popen(
        [executable, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the service did not start")


async def query_latencies(base: str, url: str, client: str) -> dict[str, Any]:
    key = tenant_key(client)
    figures: dict[str, Any] = {}
    # The floor under every figure below: the same server answering /health (SELECT 1)
    # one request at a time.
    figures["health_one_connection"] = fixed_get_latency(base, "/health", key, {})
    figures["logs_first_page"] = fixed_get_latency(base, "/api/v1/logs", key, {"page_size": 50})
    figures["logs_filtered_page"] = fixed_get_latency(
        base,
        "/api/v1/logs",
        key,
        {"page_size": 50, "status": "FAILED", "environment": "production"},
    )
    # 100k rows deep: across all clients with the admin key (one client may hold fewer).
    cursor = None
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": ADMIN_KEY}, timeout=60
    ) as http:
        for _ in range(200):
            page = (
                await http.get(
                    "/api/v1/logs",
                    params={"page_size": 500, **({"cursor": cursor} if cursor else {})},
                )
            ).json()
            cursor = page["next_cursor"]
    figures["logs_cursor_100k_deep"] = fixed_get_latency(
        base, "/api/v1/logs", ADMIN_KEY, {"page_size": 50, "cursor": cursor}
    )
    # For contrast only, and slow: across all tenants the planner sorts the whole table
    # for an offset this deep (13 s at 5M in one run, over 30 s in the next), which the
    # service's statement timeout may cut off with a 503. That is a figure, not a failure.
    try:
        figures["logs_offset_100k_deep"] = await sequential_latency(
            base,
            "/api/v1/logs",
            ADMIN_KEY,
            {"page_size": 50, "page": 2001},
            requests=5,
            warmups=1,
            request_timeout=120,
        )
    except httpx.HTTPError as exc:
        print(f"OFFSET 100000 page: {type(exc).__name__}: {exc}", flush=True)
        figures["logs_offset_100k_deep"] = None

    now = datetime.now(UTC)
    for days in (7, 30):
        start = now - timedelta(days=days)
        for endpoint, statements in (
            ("overview", limits.NAIVE_OVERVIEW),
            ("categories", limits.NAIVE_CATEGORIES),
        ):
            params = {"from": start.isoformat(), "to": now.isoformat()}
            latency = fixed_get_latency(base, f"/api/v1/metrics/{endpoint}", key, params)
            naive_rows, naive_timing = limits.naive(
                url, statements, client_id=client, start=start, end=now
            )
            async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}) as http:
                body = (await http.get(f"/api/v1/metrics/{endpoint}", params=params)).json()
            figures[f"{endpoint}_{days}d"] = {
                "latency": latency,
                "in_process": await metrics_latency(
                    url, endpoint=endpoint, client_id=client, start=start, end=now
                ),
                "naive": naive_timing,
                "agreement": agreement(endpoint, body, naive_rows),
            }
    return figures


async def freshness(base: str, client: str) -> float:
    """Seconds from a log's 2xx until the overview counts it."""
    key = {"X-API-Key": tenant_key(client)}
    async with httpx.AsyncClient(base_url=base, headers=key, timeout=10) as http:
        before = (await http.get("/api/v1/metrics/overview", params={"days": 1})).json()[
            "total_runs"
        ]
        log = {
            "environment": "production",
            "executed_at": datetime.now(UTC).isoformat(),
            "status": "SUCCESS",
        }
        (await http.post("/api/v1/logs", json=log)).raise_for_status()
        acknowledged = time.perf_counter()
        while time.perf_counter() - acknowledged < 30:
            now = (await http.get("/api/v1/metrics/overview", params={"days": 1})).json()[
                "total_runs"
            ]
            if now > before:
                return time.perf_counter() - acknowledged
            await asyncio.sleep(0.05)
    return float("inf")


def storage(url: str) -> dict[str, Any]:
    """Bytes per log over every day partition of workflow_logs and workflow_log_ids (a
    log is one row in each)."""
    with psycopg.connect(url) as conn:
        rows, heap, toast, indexes, partitions_ = conn.execute(
            """SELECT (SELECT count(*) FROM workflow_log_ids),
                      sum(pg_relation_size(relid)),
                      sum(pg_table_size(relid) - pg_relation_size(relid)),
                      sum(pg_indexes_size(relid)), count(*)
               FROM pg_partition_tree('workflow_logs') WHERE isleaf"""
        ).fetchone()  # type: ignore[misc]
        ids_heap, ids_indexes = conn.execute(
            "SELECT pg_table_size('workflow_log_ids'), pg_indexes_size('workflow_log_ids')"
        ).fetchone()  # type: ignore[misc]
        rollups = conn.execute(
            "SELECT sum(pg_total_relation_size(oid)) FROM pg_class "
            "WHERE relkind = 'r' AND relname LIKE 'workflow_log_rollup%'"
        ).fetchone()
        compressed = conn.execute(
            """SELECT pg_column_compression(payload), count(*) FROM (
                   SELECT payload FROM workflow_logs TABLESAMPLE SYSTEM (0.1)) s
               GROUP BY 1 ORDER BY 2 DESC"""
        ).fetchall()
        payload_bytes = conn.execute(
            """SELECT avg(pg_column_size(payload)), avg(octet_length(payload::text))
               FROM workflow_logs TABLESAMPLE SYSTEM (0.1)"""
        ).fetchone()
    heap, toast, indexes = int(heap or 0), int(toast or 0), int(indexes or 0)
    total = heap + toast + indexes + ids_heap + ids_indexes
    return {
        "rows": rows,
        "partitions": partitions_,
        "bytes_per_log": total / rows,
        "heap_bytes_per_log": heap / rows,
        "toast_bytes_per_log": toast / rows,
        "index_bytes_per_log": indexes / rows,
        "ids_table_bytes_per_log": ids_heap / rows,
        "ids_index_bytes_per_log": ids_indexes / rows,
        "rollup_bytes_total": int(rollups[0] or 0) if rollups else 0,
        # From a 0.1% sample of pages: how many payloads each method holds (NULL: stored
        # uncompressed), and the stored against the text size of a payload.
        "payload_compression": {str(method): count for method, count in compressed},
        "payload_stored_bytes": float(payload_bytes[0] or 0) if payload_bytes else 0,
        "payload_text_bytes": float(payload_bytes[1] or 0) if payload_bytes else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--logs", type=int, default=1_000_000, help="logs to load (one checkpoint)")
    parser.add_argument(
        "--checkpoints", default="", help="comma-separated sizes to measure queries at"
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--phase-seconds", type=int, default=15)
    parser.add_argument(
        "--soak-seconds", type=int, default=0, help="sustained ingestion for the RSS figure"
    )
    parser.add_argument("--copy-rows", type=int, default=200_000)
    parser.add_argument(
        "--skip-retention", action="store_true", help="leave out 'Retention under load'"
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (make bench installs it)")

    checkpoints = [int(c) for c in args.checkpoints.split(",") if c] or [args.logs]
    url = prepare_database(args.database_url)
    clients = client_ids(args.clients)
    figures: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()}
    }
    with psycopg.connect(url) as conn:
        figures["machine"]["postgresql"] = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    figures["queries"] = {}
    figures["batch_by_checkpoint"] = {}
    process, base = None, ""
    keys = [tenant_key(c) for c in clients]
    rss: list[float] = []

    def sample_rss() -> None:
        if process is not None:
            rss.extend(worker_rss_mb(process.pid))

    try:
        for number, checkpoint in enumerate(checkpoints):
            # The ingestion phases of the checkpoint before added logs: count what is there.
            missing = checkpoint - stored_logs(url)
            print(f"loading {missing} logs ...", flush=True)
            figures.setdefault("load_rows_per_second", []).append(
                load(
                    url,
                    clients=clients,
                    count=max(missing, 0),
                    days=args.days,
                    seed=number * 10,
                )
            )
            if process is None:
                process, base = start_service(url, clients, args.workers)
            print(f"measuring queries at {checkpoint} logs ...", flush=True)
            figures["queries"][checkpoint] = asyncio.run(query_latencies(base, url, clients[0]))
            # Batch ingestion at every checkpoint: its rate at the largest against the
            # smallest is the "flat as the table grows" figure (issue 13).
            batches = {}
            for workload, spread_days in WORKLOADS.items():
                print(
                    f"measuring batch ingestion ({workload}) at {checkpoint}: COPY, then HTTP ...",
                    flush=True,
                )
                batches[workload] = batch_phase(
                    url,
                    base,
                    clients=clients,
                    keys=keys,
                    days=spread_days or args.days,
                    copy_rows=args.copy_rows,
                    seconds=args.phase_seconds,
                    on_tick=sample_rss,
                )
            figures["batch_by_checkpoint"][checkpoint] = batches
        assert process is not None

        print("measuring COPY as this bench did before (one new client) ...", flush=True)
        copy_rate_one_new_client = limits.copy_rate_one_new_client(url, rows=args.copy_rows)
        settle(url)
        print("measuring single-log ingestion and /health with wrk ...", flush=True)
        one_log = sample_logs(9, 1, days=1, with_ids=False)[0]
        single = wrk(
            f"{base}/api/v1/logs",
            connections=64,
            seconds=args.phase_seconds,
            post_body=one_log,
            key=keys[1],
        )
        health = wrk(f"{base}/health", connections=64, seconds=args.phase_seconds)
        figures["ingestion"] = {
            **batches["backfill"],
            "live": batches["live"],
            "copy_one_new_client_rows_per_second": copy_rate_one_new_client,
            "single": single,
            "health": health,
        }
        if args.soak_seconds:
            print(f"soaking for {args.soak_seconds} s ...", flush=True)
            soak_rss: list[list[float]] = []
            asyncio.run(
                batch_ingestion(
                    base,
                    keys,
                    workload_bodies(clients, days=args.days),
                    seconds=args.soak_seconds,
                    concurrency=2,
                    on_tick=lambda: soak_rss.append(worker_rss_mb(process.pid)),
                )
            )
            figures["soak_rss_mb"] = soak_rss
            rss = [max(s) for s in soak_rss if s]
        figures["rss_mb"] = (
            {"first": rss[0], "last": rss[-1], "max": max(rss)}
            if rss
            else {"first": 0, "last": 0, "max": 0}
        )
        figures["freshness_seconds"] = asyncio.run(freshness(base, clients[2]))
        figures["storage"] = storage(url)
        if not args.skip_retention:
            settle(url)
            print("measuring ingestion latency while retention runs ...", flush=True)
            figures["retention_under_load"] = retention_under_load(
                url, base, clients=clients, keys=keys, admin_key=ADMIN_KEY
            )
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)

    table = report(figures)
    width = max(len(r[0]) for r in table)
    machine = figures["machine"]
    print(
        f"\nCentral Logger benchmark ({machine['cores']} cores, "
        f"PostgreSQL {machine['postgresql']}, histogram growth {GROWTH})"
    )
    print(f"{'what':<{width}} | figure | target | limit | ratio")
    for row in table:
        print(f"{row[0]:<{width}} | {row[1]} | {row[2]} | {row[3]} | {row[4]}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"perf-{checkpoints[-1]}.json"
    out.write_text(json.dumps(jsonable(figures), indent=2, default=str))
    print(f"\nfigures: {out}")


if __name__ == "__main__":
    main()

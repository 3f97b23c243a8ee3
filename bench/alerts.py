"""Alert evaluation cost (docs/performance.md, "Alerts"): N rules over a database of
generated logs, one evaluation cycle timed as the service runs it
(alerts.evaluation.evaluate, one transaction under the advisory lock).

    python -m bench.alerts --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --logs 500000 --clients 20 --rules 1000

A fresh database is made (and dropped), migrated, filled server-side with `--logs` logs
over the last 7 days for `--clients` tenants, the rollups folded, and `--rules` tenant
rules made: a mix of every kind, a quarter grouped, a twentieth by workflow version
(those read raw logs). The first cycle makes the states; the following ones are the
steady cost. Rules that ask the same question (client, window, filters) share one read
within a cycle; --distinct-windows gives every rule its own window, the worst case."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from central_logger.alerts.evaluation import evaluate
from central_logger.alerts.models import AlertsConfig
from central_logger.db.engine import create_engine
from central_logger.db.migrate import upgrade_to_head
from central_logger.settings import Settings

_KINDS = [
    {"kind": "failure_rate", "threshold": 20.0, "min_runs": 5},
    {"kind": "no_runs", "threshold": None},
    {"kind": "latency", "threshold": 5.0, "percentile": "p95"},
    {"kind": "count", "threshold": 50.0, "status": "FAILURE"},
]


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _fill(url: str, *, logs: int, clients: int, now: datetime) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for day in range(9):
            conn.execute(
                "SELECT workflow_logs_create_partition(%s::date)",
                ((now - timedelta(days=day)).date(),),
            )
        conn.execute(
            """
            INSERT INTO workflow_logs (id, client_id, environment, workflow_version,
                executed_at, execution_time_seconds, status, category)
            SELECT gen_random_uuid(), 'bench_' || (i %% %(clients)s),
                   (ARRAY['production','staging'])[1 + i %% 2],
                   (ARRAY['1.0','1.1','2.0'])[1 + i %% 3],
                   %(now)s - (random() * interval '7 days'),
                   random() * 8,
                   CASE WHEN random() < 0.1 THEN 'FAILURE' ELSE 'SUCCESS' END,
                   (ARRAY['billing','refund','shipping','login'])[1 + i %% 4]
            FROM generate_series(1, %(logs)s) AS i
            """,
            {"clients": clients, "now": now, "logs": logs},
        )
        conn.execute("SELECT workflow_log_rollup_fold()")
        conn.execute("VACUUM ANALYZE")


def _rules(url: str, *, rules: int, clients: int, distinct: bool) -> None:
    rows = []
    for i in range(rules):
        kind = dict(_KINDS[i % len(_KINDS)])
        group_by = "category" if i % 4 == 1 else None
        version = "2.0" if i % 20 == 3 else None
        rows.append(
            (
                f"bench_{i % clients}",
                f"rule {i}",
                kind["kind"],
                kind.get("threshold"),
                kind.get("min_runs", 1),
                kind.get("percentile"),
                kind.get("status"),
                group_by,
                version,
                # --distinct-windows: no two rules share a window, so none shares a read.
                900 + 60 * i if distinct else (900 if i % 3 else 3600),
            )
        )
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO alert_rules (client_id, provider, name, kind, threshold, min_runs,"
            " percentile, status, group_by, workflow_version, window_seconds)"
            " VALUES (%s, false, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


async def _cycles(url: str, *, cycles: int, now: datetime) -> list[float]:
    settings = Settings(_env_file=None, database_url=url)
    engine = create_engine(settings, url)
    config = AlertsConfig.from_settings(settings)
    timings = []
    try:
        for cycle in range(cycles):
            started = time.perf_counter()
            report = await evaluate(engine, now=now + timedelta(seconds=30 * cycle), config=config)
            timings.append(time.perf_counter() - started)
            print(
                f"cycle {cycle}: {timings[-1] * 1000:.0f} ms, {report.rules} rules,"
                f" {report.changes} state changes"
            )
    finally:
        await engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="a server to make a database on")
    parser.add_argument("--logs", type=int, default=500_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument(
        "--distinct-windows",
        action="store_true",
        help="every rule its own window (no two share a read: the worst case)",
    )
    args = parser.parse_args()
    name = f"central_logger_bench_alerts_{secrets.token_hex(4)}"
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_database(args.database_url, name)
    try:
        upgrade_to_head(url)
        now = datetime.now(UTC)
        started = time.perf_counter()
        _fill(url, logs=args.logs, clients=args.clients, now=now)
        print(
            f"{args.logs} logs for {args.clients} clients in {time.perf_counter() - started:.0f} s"
        )
        _rules(url, rules=args.rules, clients=args.clients, distinct=args.distinct_windows)
        timings = asyncio.run(_cycles(url, cycles=args.cycles, now=now))
        steady = timings[1:] or timings
        print(
            f"{args.rules} rules: first cycle {timings[0] * 1000:.0f} ms; steady cycles median"
            f" {statistics.median(steady) * 1000:.0f} ms, max {max(steady) * 1000:.0f} ms"
            f" ({statistics.median(steady) / args.rules * 1e6:.0f} us per rule)"
        )
    finally:
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()

"""The insights endpoints' service code timed in-process (the transaction each request
runs, tenant stated, without HTTP) over a data set loaded the way bench/perf.py loads
its own: 20 clients, 3 environments, 12 categories, 3 versions, a mix of statuses,
executed_at over 30 days, ~1 KB payloads with a 5-step trace. Its own database
(central_logger_insights_bench), dropped and made again on every run.

    .venv/bin/python -m bench.insights_latency --logs 1000000 \
        --url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg import sql

from bench.dataset import client_ids
from bench.load import percentiles
from bench.perf import load, stored_logs
from central_logger.auth.tenancy import Tenancy
from central_logger.db.engine import create_engine
from central_logger.db.migrate import upgrade_to_head
from central_logger.db.tenancy import state_tenant
from central_logger.insights import service
from central_logger.insights.schemas import (
    AnomalyParams,
    InsightsRangeParams,
    PatternParams,
    VersionParams,
)
from central_logger.settings import Settings

NAME = "central_logger_insights_bench"
DENSE = "dense_client"

# The version rows a client of 5M logs (20 clients, 30 days: ~350 runs an hour) has:
# every (version, environment, category) cell filled every hour. Versions, trends and
# anomalies read rollups only, so their cost at 5M logs is their cost on these rows;
# they are written straight into the levels for one extra client (raw logs of this
# density would take an hour to load on this machine).
_DENSE_HOURLY = """
    INSERT INTO workflow_log_rollup_histogram_hourly
        (client_id, hour, dimension, value, buckets, logs, runs, failed_runs, time_count,
         time_sum)
    SELECT %(client)s, h, 'workflow_version', jsonb_build_array(v, e, 'category_' || c)::text,
           ARRAY[b, b + 3, b + 9]::smallint[], ARRAY[1, 1, 1]::bigint[], 3,
           (random() < 0.1)::int, 3, 12.0
    FROM generate_series(date_trunc('hour', now()) - interval '36 days',
                         date_trunc('hour', now()), interval '1 hour') AS h,
         unnest(ARRAY['1.3.0', '1.4.0', '1.4.1']) AS v,
         unnest(ARRAY['production', 'staging', 'development']) AS e,
         generate_series(1, 12) AS c,
         LATERAL (SELECT 40 + floor(random() * 20)::int + 0 * c AS b) AS bucket
"""
_DENSE_DAILY = """
    INSERT INTO workflow_log_rollup_histogram_daily
        (client_id, day, dimension, value, buckets, logs, runs, failed_runs, time_count,
         time_sum)
    SELECT client_id, date_trunc('day', hour, 'UTC'), dimension, value,
           ARRAY(SELECT generate_series(40, 68))::smallint[],
           ARRAY(SELECT 3 FROM generate_series(40, 68))::bigint[],
           sum(runs), sum(failed_runs), sum(time_count), sum(time_sum)
    FROM workflow_log_rollup_histogram_hourly
    WHERE client_id = %(client)s GROUP BY 1, 2, 3, 4
"""


# The category rows of the same client (the trends without an environment read them).
_DENSE_CATEGORIES = """
    INSERT INTO workflow_log_rollup_histogram_{level}
        (client_id, {time}, dimension, value, buckets, logs, runs, failed_runs, time_count,
         time_sum)
    SELECT client_id, {time}, 'category', value::jsonb ->> 2,
           ARRAY(SELECT generate_series(40, 68))::smallint[],
           ARRAY(SELECT 1 FROM generate_series(40, 68))::bigint[],
           sum(runs), sum(failed_runs), sum(time_count), sum(time_sum)
    FROM workflow_log_rollup_histogram_{level}
    WHERE client_id = %(client)s AND dimension = 'workflow_version' GROUP BY 1, 2, 3, 4
"""


def add_dense_client(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM workflow_log_rollup_histogram_hourly WHERE client_id = %s", (DENSE,)
        )
        conn.execute(
            "DELETE FROM workflow_log_rollup_histogram_daily WHERE client_id = %s", (DENSE,)
        )
        conn.execute(_DENSE_HOURLY, {"client": DENSE})
        conn.execute(_DENSE_DAILY, {"client": DENSE})
        for level, time in (("hourly", "hour"), ("daily", "day")):
            conn.execute(_DENSE_CATEGORIES.format(level=level, time=time), {"client": DENSE})
        conn.execute(
            "ANALYZE workflow_log_rollup_histogram_hourly, workflow_log_rollup_histogram_daily"
        )
        row = conn.execute(
            "SELECT count(*) FROM workflow_log_rollup_histogram_hourly"
            " WHERE client_id = %s AND dimension = 'workflow_version'",
            (DENSE,),
        ).fetchone()
    return int(row[0]) if row else 0


def prepare(server_url: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(NAME))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(NAME)))
    url = server_url.rsplit("/", 1)[0] + f"/{NAME}"
    upgrade_to_head(url)
    return url


async def time_views(
    url: str, client: str, requests: int, *, rollups_only: bool = False
) -> dict[str, dict[str, float]]:
    views: dict[str, Callable[[Any], Awaitable[object]]] = {
        "versions 7 days, 1.4.1 vs previous": lambda conn: service.versions(
            conn, tenancy=Tenancy(client), params=VersionParams(days=7, version="1.4.1")
        ),
        "trends 30 days": lambda conn: service.trends(
            conn, tenancy=Tenancy(client), params=InsightsRangeParams(days=30)
        ),
        "anomalies 1 day (4 weeks of history)": lambda conn: service.anomalies(
            conn, tenancy=Tenancy(client), params=AnomalyParams(days=1)
        ),
        "patterns 7 days": lambda conn: service.patterns(
            conn, tenancy=Tenancy(client), params=PatternParams(days=7)
        ),
    }
    if rollups_only:
        del views["patterns 7 days"]
    engine = create_engine(Settings(_env_file=None), url)
    figures = {}
    try:
        for name, view in views.items():
            samples = []
            for attempt in range(requests + 3):
                started = time.perf_counter()
                async with engine.begin() as conn:
                    await state_tenant(conn, client)
                    await view(conn)
                if attempt >= 3:
                    samples.append((time.perf_counter() - started) * 1000)
            latency = percentiles(samples)
            figures[name] = {"p50": latency.p50_ms, "p95": latency.p95_ms}
    finally:
        await engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a server's maintenance database URL")
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database")
    args = parser.parse_args()
    clients = client_ids(20)
    if args.keep:
        url = args.url.rsplit("/", 1)[0] + f"/{NAME}"
    else:
        url = prepare(args.url)
        rate = load(url, clients=clients, count=args.logs, days=30, seed=1)
        print(f"loaded {stored_logs(url)} logs at {rate:.0f} logs/s", flush=True)
    figures = asyncio.run(time_views(url, clients[0], args.requests))
    print(f"{args.requests} requests each, one client of 20, in-process (ms):")
    for name, latency in figures.items():
        print(f"  {name}: p50 {latency['p50']:.1f}, p95 {latency['p95']:.1f}")
    rows = add_dense_client(url)
    figures = asyncio.run(time_views(url, DENSE, args.requests, rollups_only=True))
    print(f"the 5M-log rollup density ({rows} hourly version rows of one client), (ms):")
    for name, latency in figures.items():
        print(f"  {name}: p50 {latency['p50']:.1f}, p95 {latency['p95']:.1f}")


if __name__ == "__main__":
    main()

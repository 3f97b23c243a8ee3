"""The DB-backed check of bench/insights_quality.py: one synthetic tenant (seasonal, with
its three injected incidents) stored as logs in a scratch database, through the rollup
trigger and a fold, then `insights.service.detect_anomalies` on it; its anomalies must
be exactly those the pure function finds on the generator's own tallies.

    .venv/bin/python -m bench.insights_end_to_end postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import asyncio
import random
import secrets
import sys
import time
from datetime import datetime, timedelta

import psycopg
from psycopg import sql

from bench.insights_quality import HISTORY_WEEKS, MONDAY, WEEK, _tenant
from central_logger.db.engine import create_engine
from central_logger.db.migrate import upgrade_to_head
from central_logger.db.tenancy import state_tenant
from central_logger.insights import anomalies
from central_logger.insights import service as insights
from central_logger.insights.models import Tally
from central_logger.metrics.histogram import GROWTH, SMALLEST_SECONDS
from central_logger.settings import Settings

_INSERT = """
    INSERT INTO workflow_logs (id, client_id, environment, workflow_version, executed_at,
                               execution_time_seconds, status, category)
    SELECT gen_random_uuid(), %(client)s, environment, '1.0', executed_at, seconds, status,
           category
    FROM unnest(%(environments)s::text[], %(times)s::timestamptz[], %(seconds)s::float8[],
                %(statuses)s::text[], %(categories)s::text[])
        AS log(environment, executed_at, seconds, status, category)
"""


def _store(url: str, data: dict[tuple[str, str, str], dict[datetime, Tally]], client: str) -> int:
    columns: dict[str, list[object]] = {
        "environments": [], "times": [], "seconds": [], "statuses": [], "categories": []
    }  # fmt: skip
    for (_, environment, category), by_hour in data.items():
        for hour, tally in by_hour.items():
            # Each log in the middle of its bucket: stored, it lands in the same bucket.
            durations = [
                SMALLEST_SECONDS * GROWTH ** (bucket + 0.5)
                for bucket, count in tally.histogram.items()
                for _ in range(count)
            ]
            for index, seconds in enumerate(durations):
                columns["environments"].append(environment)
                columns["times"].append(hour + timedelta(seconds=index % 3600))
                columns["seconds"].append(seconds)
                columns["statuses"].append("FAILED" if index < tally.failed_runs else "SUCCESS")
                columns["categories"].append(category)
    days = {MONDAY.date() + timedelta(days=d) for d in range(-1, (HISTORY_WEEKS + 1) * 7 + 1)}
    with psycopg.connect(url, autocommit=True) as conn:
        for day in sorted(days):
            conn.execute("SELECT workflow_logs_create_partition(%s)", (day,))
        for first in range(0, len(columns["times"]), 20_000):
            chunk = {k: v[first : first + 20_000] for k, v in columns.items()}
            conn.execute(_INSERT, {"client": client, **chunk})
        conn.execute("SELECT workflow_log_rollup_fold()")
    return len(columns["times"])


async def _detect(url: str, client: str) -> list[anomalies.Anomaly]:
    engine = create_engine(Settings(_env_file=None), url)
    week = MONDAY + HISTORY_WEEKS * WEEK
    try:
        async with engine.begin() as conn:
            await state_tenant(conn, client)
            return await insights.detect_anomalies(
                conn, tenant=client, start=week, end=week + WEEK, now=week + 2 * WEEK
            )
    finally:
        await engine.dispose()


def main() -> None:
    server = sys.argv[1]
    name = f"insights_e2e_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade_to_head(url)
        data, incidents = _tenant(random.Random(7), False, True, 20)
        client = next(iter(data))[0]
        started = time.perf_counter()
        stored = _store(url, data, client)
        print(f"stored {stored} logs of one tenant in {time.perf_counter() - started:.0f} s")
        week = MONDAY + HISTORY_WEEKS * WEEK
        expected = anomalies.detect(data, start=week, end=week + WEEK, data_start=MONDAY)
        found = asyncio.run(_detect(url, client))

        def keys(found: list[anomalies.Anomaly]) -> set[tuple[object, ...]]:
            return {(a.environment, a.category, a.hour, a.kind) for a in found}

        print(f"pure function: {len(expected)} anomalies; through the database: {len(found)}")
        print(f"identical: {keys(expected) == keys(found)}")
        for incident in incidents:
            hit = any((*incident.cell[1:], h, incident.kind) in keys(found) for h in incident.hours)
            print(f"  {incident.kind} on {incident.cell[1:]}: {'found' if hit else 'missed'}")
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()

"""A list page over a year of daily partitions, with and without narrowing the windows
past the first to the days the rollups say hold the tenant's logs (logs/paging.py).

    .venv/bin/python -m bench.list_windows --url postgresql://postgres@127.0.0.1:5432/postgres

Makes a throwaway database on that server: 365 daily partitions (and 7 ahead), tenant
"a" with a log a minute for a year (two thirds of them), tenant "b" with the rest, the
rollups folded. Then reads first pages in-process (tenant connections, the service's
engine), alternating the two ways in every round, and prints p50/p95 per case.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import secrets
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.db import partitions
from central_logger.db.engine import create_engine
from central_logger.db.migrate import upgrade_to_head
from central_logger.db.tenancy import state_tenant
from central_logger.logs import paging
from central_logger.logs.models import LogQuery
from central_logger.settings import Settings

CASES = {
    "first page": LogQuery(client_id="a"),
    "status=FAILED": LogQuery(client_id="a", status="FAILED"),
    "a filter that matches nothing": LogQuery(client_id="a", environment="nowhere"),
    "tenant b, category c1": LogQuery(client_id="b", category="c1"),
}


async def _every_window(
    conn: AsyncConnection,
    *,
    query: LogQuery,
    days: list[date],
    after_window: tuple[datetime, datetime],
    newest_first: bool,
) -> list[tuple[datetime, datetime]]:
    """The windows as they were before narrowing: every partition past the first."""
    rest = dataclasses.replace(query, executed_to=after_window[0])
    return paging.windows(
        days,
        executed_from=rest.executed_from,
        executed_to=rest.executed_to,
        newest_first=newest_first,
    )


async def _measure(url: str, rounds: int) -> dict[tuple[str, str], list[float]]:
    engine = create_engine(Settings(), url)
    today = datetime.now(UTC).date()
    async with engine.begin() as conn:
        await partitions.ensure_days(conn, [today - timedelta(days=n) for n in range(-7, 365)])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO workflow_logs (id, client_id, environment, executed_at, status,
                                          category, payload)
               SELECT gen_random_uuid(), CASE WHEN g % 3 = 0 THEN 'b' ELSE 'a' END, 'prod',
                      now() - g * interval '1 minute',
                      CASE WHEN g % 10 = 0 THEN 'FAILED' ELSE 'SUCCESS' END,
                      'c' || (g % 5), '{"x": 1}'
               FROM generate_series(1, 500000) g"""
        )
        conn.execute("SELECT workflow_log_rollup_fold()")
        conn.execute("ANALYZE")
    narrowing = paging._windows_holding
    timings: dict[tuple[str, str], list[float]] = {}
    try:
        for round_number in range(rounds + 3):
            for way, windows_past_first in (("before", _every_window), ("after", narrowing)):
                paging._windows_holding = windows_past_first
                for case, query in CASES.items():
                    async with engine.begin() as conn:
                        await state_tenant(conn, query.client_id)
                        started = time.perf_counter()
                        await paging.read_page(
                            conn,
                            query=query,
                            newest_first=True,
                            after=None,
                            offset=0,
                            limit=50,
                            count_limit=1000,
                        )
                        elapsed = time.perf_counter() - started
                    if round_number >= 3:  # the first rounds warm the plan caches
                        timings.setdefault((case, way), []).append(elapsed * 1000)
    finally:
        paging._windows_holding = narrowing
        await engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", required=True, help="a PostgreSQL server's maintenance database, as a URL"
    )
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    name = f"list_windows_bench_{secrets.token_hex(3)}"
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"{args.url.rsplit('/', 1)[0]}/{name}"  # a URL: postgresql://user@host:port/db
    try:
        upgrade_to_head(url)
        timings = asyncio.run(_measure(url, args.rounds))
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    for case in CASES:
        figures = []
        for way in ("before", "after"):
            values = sorted(timings[(case, way)])
            p95 = values[int(len(values) * 0.95)]
            figures.append(f"{way} p50 {statistics.median(values):6.1f} p95 {p95:6.1f} ms")
        print(f"{case:30s} {'; '.join(figures)}")


if __name__ == "__main__":
    main()

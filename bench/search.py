"""Search (issue 14): full-text against trigram, on the same data, in the same run.

    .venv/bin/python -m bench.search --database-url postgresql://postgres@127.0.0.1:5432/postgres

Three scratch databases at head: `fts` as migrated (the full-text index, the ticket
prefix index and the pick-list trigger), `trgm` with those replaced by a pg_trgm GIN
index over the same text, `none` with neither. The same logs go into each, chunk by
chunk in turn, through the service's insert (ingestion rate: a ratio measured in one
run, so the machine's load weighs on all three alike). Then, on `fts` and `trgm`:
each index's size, the first page of a search by a word in 0.1% of a tenant's logs
through the list's own read (logs/paging.read_page, generic plans), a ticket prefix,
and the pick-list values. Prints the figures; docs/performance.md records them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.dataset import client_ids, sample_logs, validated
from central_logger.db.engine import create_engine
from central_logger.db.migrate import upgrade_to_head
from central_logger.db.tenancy import state_tenant
from central_logger.logs import paging, repository
from central_logger.logs.models import LogQuery, TenantRow
from central_logger.settings import Settings

RARE_WORD = "zanzibar"
RARE_SHARE = 0.001
DAYS = 7
# Only the ticket, category, step names and errors: the words a search for a failure
# needs, without inputs, outputs and other payload text.
_NARROW_DOCUMENT = (
    "to_tsvector('simple'::regconfig, COALESCE(ticket_id, '') || ' ' || COALESCE(category, '')"
    " || ' ' || COALESCE(jsonb_path_query_array(payload, 'lax $.**.name')::text, '')"
    " || ' ' || COALESCE(jsonb_path_query_array(payload, 'lax $.**.error')::text, ''))"
)
_TRIGRAM_TEXT = (
    "lower(COALESCE(ticket_id, '') || ' ' || COALESCE(category, '') || ' '"
    " || COALESCE(payload::text, ''))"
)


def _url(server: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(server)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


def _sqlalchemy_url(libpq: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(libpq)
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{info.get('user', 'postgres')}@{info['host']}{port}/{info['dbname']}"


def prepare(server: str, name: str, variant: str) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _sqlalchemy_url(_url(server, name))
    upgrade_to_head(url)
    with psycopg.connect(_url(server, name), autocommit=True) as conn:
        today = datetime.now(UTC).date()
        for back in range(-1, DAYS + 2):
            conn.execute(
                "SELECT workflow_logs_create_partition(%s)", (today - timedelta(days=back),)
            )
        if variant in ("trgm", "none", "gin_only", "gin_32mb", "narrow"):
            conn.execute("DROP INDEX ix_workflow_logs_client_ticket_prefix")
            conn.execute("DROP TRIGGER workflow_logs_values ON workflow_logs")
        if variant in ("trgm", "none", "narrow"):
            conn.execute("DROP INDEX ix_workflow_logs_search")
        if variant == "gin_32mb":
            for (partition,) in conn.execute(
                "SELECT inhrelid::regclass::text FROM pg_inherits"
                " WHERE inhparent = 'ix_workflow_logs_search'::regclass"
            ).fetchall():
                conn.execute(f"ALTER INDEX {partition} SET (gin_pending_list_limit = 32768)")
        if variant == "narrow":
            conn.execute(
                "CREATE INDEX ix_workflow_logs_narrow ON workflow_logs USING gin"
                f" (({_NARROW_DOCUMENT}))"
            )
        if variant == "trgm":
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            # As the migration does for full-text: LIKE and lower() may lead an index scan
            # under row-level security only when LEAKPROOF.
            conn.execute("ALTER FUNCTION pg_catalog.textlike(text, text) LEAKPROOF")
            conn.execute("ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF")
            conn.execute(
                f"CREATE INDEX ix_workflow_logs_trgm ON workflow_logs"
                f" USING gin (({_TRIGRAM_TEXT}) gin_trgm_ops)"
            )
    return url


def chunk(seed: int, count: int, clients: list[str]) -> list[TenantRow]:
    logs = sample_logs(seed, count, days=DAYS, with_ids=False)
    rng = random.Random(seed)
    for log in logs:
        if rng.random() < RARE_SHARE:
            log["payload"]["note"] = f"customer mentioned {RARE_WORD} twice"
    rows = validated(logs)
    return [TenantRow(clients[i % len(clients)], row) for i, row in enumerate(rows)]


async def insert(engine: AsyncEngine, rows: list[TenantRow]) -> float:
    started = time.perf_counter()
    for start in range(0, len(rows), 1000):
        async with engine.begin() as conn:
            await state_tenant(conn, None)
            await repository.insert_rows(conn, rows[start : start + 1000])
    return time.perf_counter() - started


async def timed(run: Callable[[], Awaitable[Any]], times: int) -> dict[str, float]:
    latencies = []
    for _ in range(times):
        started = time.perf_counter()
        await run()
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
    }


async def list_page(engine: AsyncEngine, query: LogQuery) -> int:
    async with engine.begin() as conn:
        await state_tenant(conn, query.client_id)
        page = await paging.read_page(
            conn, query=query, newest_first=True, after=None, offset=0, limit=50, count_limit=1000
        )
    return len(page.items)


async def trigram_page(engine: AsyncEngine, client: str, word: str) -> int:
    async with engine.begin() as conn:
        await state_tenant(conn, client)
        result = await conn.exec_driver_sql(
            f"SELECT id FROM workflow_logs WHERE client_id = %(c)s AND {_TRIGRAM_TEXT}"
            " LIKE %(p)s ORDER BY executed_at DESC, id DESC LIMIT 50",
            {"c": client, "p": f"%{word}%"},
        )
        return len(result.all())


async def values(engine: AsyncEngine, client: str) -> int:
    async with engine.begin() as conn:
        await state_tenant(conn, client)
        return len(
            await repository.select_values(conn, client_id=client, field="category", limit=501)
        )


def index_sizes(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT i.relname, pg_size_pretty(sum(pg_relation_size(c.oid))) FROM pg_class i"
            " JOIN pg_inherits h ON h.inhparent = i.oid JOIN pg_class c ON c.oid = h.inhrelid"
            " WHERE i.relname IN ('ix_workflow_logs_search', 'ix_workflow_logs_trgm',"
            " 'ix_workflow_logs_client_ticket_prefix', 'ix_workflow_logs_client_executed')"
            " GROUP BY i.relname"
        ).fetchall()
    return {name: size for name, size in rows}


async def main_async(server: str, logs: int, chunk_size: int) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    variants = ("fts", "gin_only", "gin_32mb", "narrow", "trgm", "none")
    urls = {v: prepare(server, f"central_logger_bench_search_{v}", v) for v in variants}
    engines = {v: create_engine(settings, urls[v]) for v in variants}
    clients = client_ids(20)
    spent = dict.fromkeys(variants, 0.0)
    for seed, start in enumerate(range(0, logs, chunk_size)):
        rows = chunk(seed, min(chunk_size, logs - start), clients)
        order = list(variants)
        random.Random(seed).shuffle(order)  # no variant always first after a checkpoint
        for variant in order:
            spent[variant] += await insert(engines[variant], rows)
    rates = {v: round(logs / spent[v]) for v in variants}
    print(f"ingestion logs/s (1000-log statements, one connection): {rates}", flush=True)
    print(
        "  as a share of none: "
        + ", ".join(f"{v} {rates[v] / rates['none']:.2f}x" for v in variants if v != "none"),
        flush=True,
    )
    for variant in ("fts", "trgm"):
        with psycopg.connect(
            _url(server, f"central_logger_bench_search_{variant}"), autocommit=True
        ) as conn:
            conn.execute("VACUUM (ANALYZE) workflow_logs")
            conn.execute("SELECT workflow_log_rollup_fold()")
    print(f"index sizes, fts: {index_sizes(_url(server, 'central_logger_bench_search_fts'))}")
    print(f"index sizes, trgm: {index_sizes(_url(server, 'central_logger_bench_search_trgm'))}")
    cycle = itertools.cycle(clients)
    fts = engines["fts"]
    found = await list_page(fts, LogQuery(client_id=clients[0], q=RARE_WORD))
    print(
        f"rare word: {found} logs on {clients[0]}'s first page"
        f" (~{logs * RARE_SHARE / 20:.0f} expected)"
    )
    figures = {
        "list without q (baseline)": await timed(
            lambda: list_page(fts, LogQuery(client_id=next(cycle))), 40
        ),
        "fts word 0.1%": await timed(
            lambda: list_page(fts, LogQuery(client_id=next(cycle), q=RARE_WORD)), 40
        ),
        "trgm word 0.1%": await timed(
            lambda: trigram_page(engines["trgm"], next(cycle), RARE_WORD), 40
        ),
        "fts ticket prefix": await timed(
            lambda: list_page(fts, LogQuery(client_id=next(cycle), q="ticket-1234")), 40
        ),
        "fts common word (status words in every trace)": await timed(
            lambda: list_page(fts, LogQuery(client_id=next(cycle), q="classify")), 20
        ),
        "values (category)": await timed(lambda: values(fts, next(cycle)), 40),
    }
    for name, figure in figures.items():
        print(f"{name}: {figure}")
    for engine in engines.values():
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", required=True, help="a server to make scratch databases on"
    )
    parser.add_argument("--logs", type=int, default=60_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    args = parser.parse_args()
    asyncio.run(main_async(args.database_url, args.logs, args.chunk))


if __name__ == "__main__":
    main()

"""The limits each figure is compared with, measured in the same run: PostgreSQL's own
binary COPY into the same table, and the naive SQL aggregates over raw rows."""

from __future__ import annotations

import multiprocessing
import statistics
import time
import uuid
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb, set_json_dumps

from bench.dataset import sample_rows

COPY_COLUMNS = (
    "id, client_id, environment, workflow_version, ticket_id, executed_at, "
    "execution_time_seconds, status, category, resolution_status, metrics, payload"
)
COPY_TYPES = [
    "uuid",
    "text",
    "text",
    "text",
    "text",
    "timestamptz",
    "float8",
    "text",
    "text",
    "text",
    "jsonb",
    "jsonb",
]


def _copy_part(args: tuple[str, str, int, int, Any]) -> float:
    url, client_id, seed, count, barrier = args
    set_json_dumps(lambda obj: orjson.dumps(obj).decode())
    records = [
        (
            uuid.uuid4(),
            client_id,
            r.environment,
            r.workflow_version,
            r.ticket_id,
            r.executed_at,
            r.execution_time_seconds,
            r.status,
            r.category,
            r.resolution_status,
            Jsonb(orjson.loads(r.metrics_json)) if r.metrics_json else None,
            Jsonb(orjson.loads(r.payload_json)) if r.payload_json else None,
        )
        for r in sample_rows(seed, count, days=30)
    ]
    with psycopg.connect(url) as conn:
        barrier.wait()
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY workflow_logs ({COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(COPY_TYPES)
            for record in records:
                copy.write_row(record)
        conn.commit()
        return time.perf_counter() - started


def copy_rate(url: str, *, rows: int, streams: int = 2) -> float:
    """Rows per second of `streams` parallel binary COPY streams into workflow_logs
    (with its indexes and rollup trigger, as the service's inserts have them)."""
    per_stream = rows // streams
    with multiprocessing.Manager() as manager:
        barrier = manager.Barrier(streams)
        with multiprocessing.Pool(streams) as pool:
            durations = pool.map(
                _copy_part,
                [
                    (url, "bench_copy_baseline", 1000 + i, per_stream, barrier)
                    for i in range(streams)
                ],
            )
    return per_stream * streams / max(durations)


_RANGE = "client_id = %(c)s AND executed_at >= %(a)s AND executed_at < %(b)s"
NAIVE_OVERVIEW = [
    f"""SELECT count(*), count(*) FILTER (WHERE status <> 'SUCCESS'),
              avg(execution_time_seconds), percentile_cont(ARRAY[0.5, 0.95, 0.99])
                  WITHIN GROUP (ORDER BY execution_time_seconds)
       FROM workflow_logs WHERE {_RANGE}""",
    f"SELECT status, count(*) FROM workflow_logs WHERE {_RANGE} GROUP BY status",
    f"""SELECT environment, count(*), count(*) FILTER (WHERE status <> 'SUCCESS')
       FROM workflow_logs WHERE {_RANGE} GROUP BY environment""",
    f"""SELECT date_bin('1 day', executed_at, %(a)s), count(*)
       FROM workflow_logs WHERE {_RANGE} GROUP BY 1""",
]
NAIVE_CATEGORIES = [
    f"""SELECT COALESCE(category, 'uncategorized'), count(*),
              count(*) FILTER (WHERE status = 'SUCCESS'), avg(execution_time_seconds),
              percentile_cont(0.95) WITHIN GROUP (ORDER BY execution_time_seconds)
       FROM workflow_logs WHERE {_RANGE}
       GROUP BY 1 ORDER BY 2 DESC""",
]


def naive(
    url: str,
    statements: list[str],
    *,
    client_id: str,
    start: datetime,
    end: datetime,
    repeats: int = 7,
) -> tuple[list[list[tuple[Any, ...]]], dict[str, float]]:
    """The endpoint's figures computed straight from raw rows; timings in ms."""
    params = {"c": client_id, "a": start, "b": end}
    timings = []
    results: list[list[tuple[Any, ...]]] = []
    with psycopg.connect(url) as conn:
        for _ in range(repeats):
            started = time.perf_counter()
            results = [conn.execute(s, params).fetchall() for s in statements]  # type: ignore[arg-type]
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return results, {
        "p50_ms": statistics.median(timings),
        "p95_ms": timings[int(0.95 * (len(timings) - 1))],
    }

"""The limits each figure is compared with, measured in the same run: PostgreSQL's own
binary COPY into the same tables (ids and logs), and the naive SQL aggregates over raw rows."""

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

from bench.dataset import sample_logs, validated

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


def _copy_records(logs: list[dict[str, Any]], client_id: str) -> list[tuple[Any, ...]]:
    return [
        (
            row.id,
            client_id,
            row.environment,
            row.workflow_version,
            row.ticket_id,
            row.executed_at,
            row.execution_time_seconds,
            row.status,
            row.category,
            row.resolution_status,
            Jsonb(orjson.loads(row.metrics_json)) if row.metrics_json else None,
            Jsonb(orjson.loads(row.payload_json)) if row.payload_json else None,
        )
        for row in validated(logs)
    ]


def _copy_part(args: tuple[str, list[tuple[str, bytes]], Any]) -> tuple[int, float]:
    """(rows copied, seconds) of one stream."""
    url, batches, barrier = args
    set_json_dumps(lambda obj: orjson.dumps(obj).decode())
    records = [
        record
        for client_id, body in batches
        for record in _copy_records(orjson.loads(body)["logs"], client_id)
    ]
    with psycopg.connect(url) as conn:
        barrier.wait()
        started = time.perf_counter()
        # Storing a log is two rows since the partitioning (issue 13): its id in
        # workflow_log_ids (what keeps ids unique per tenant across the day partitions),
        # then the log in its day's partition. The service's insert writes both in one
        # statement; COPY writes both in one transaction, ids first, as the service does.
        with conn.cursor() as cur:
            with cur.copy(
                "COPY workflow_log_ids (id, client_id, executed_at) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["uuid", "text", "timestamptz"])
                for record in records:
                    copy.write_row((record[0], record[1], record[5]))
            with cur.copy(
                f"COPY workflow_logs ({COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(COPY_TYPES)
                for record in records:
                    copy.write_row(record)
        conn.commit()
        return len(records), time.perf_counter() - started


def copy_rate(url: str, batches: list[tuple[str, bytes]], *, streams: int = 2) -> float:
    """Logs per second of `streams` parallel binary COPY streams, each log an id row in
    workflow_log_ids and a row in workflow_logs' day partition (with their indexes and
    the rollup trigger, as the service's inserts have them).

    `batches` are (client_id, batch body) pairs: the very logs the HTTP phase sends, for
    the same tenants, so that both paths write the same rows into the same index ranges
    and rollup cells."""
    parts = [batches[i::streams] for i in range(streams)]
    with multiprocessing.Manager() as manager:
        barrier = manager.Barrier(streams)
        with multiprocessing.Pool(streams) as pool:
            copied = pool.map(_copy_part, [(url, part, barrier) for part in parts])
    return sum(rows for rows, _ in copied) / max(seconds for _, seconds in copied)


def copy_rate_one_new_client(url: str, *, rows: int, streams: int = 2) -> float:
    """The limit as this bench measured it before 2026-11-26, kept for comparison: rows
    for one client that has no rows yet, with random (v4) ids. All of a statement's rows
    share one client's index ranges and rollup cells, which flatters COPY."""
    batches = []
    for i in range(rows // 1000):
        logs = sample_logs(1000 + i, 1000, days=30, with_ids=False)
        for log in logs:
            log["id"] = str(uuid.uuid4())
        batches.append(("bench_copy_baseline", orjson.dumps({"logs": logs})))
    return copy_rate(url, batches, streams=streams)


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

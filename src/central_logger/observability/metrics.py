"""The service's Prometheus metrics, and the one-line calls other domains make.

Correct across `serve --workers N`: when PROMETHEUS_MULTIPROC_DIR is set before this
module is first imported (`central-logger serve` sets it for its workers), every value
lives in a per-process file there and `/metrics` sums them across the workers
(prometheus-client's multiprocess mode); otherwise in this process's memory.

No label carries a tenant, a key or a raw path: routes are templates
(`/api/v1/logs/{log_id}`), so the series count is fixed by the code, not by traffic.
"""

from __future__ import annotations

import os
import time

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client import values as _values
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# True when values are shared through PROMETHEUS_MULTIPROC_DIR (decided by
# prometheus-client when it was imported, from the same variable).
MULTIPROCESS = _values.ValueClass is not _values.MutexValue

HTTP_REQUESTS = Counter(
    "central_logger_http_requests",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "central_logger_http_request_duration_seconds",
    "Time from a request's arrival to its response's last byte, by method, route "
    "template and status code",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LOGS_INGESTED = Counter(
    "central_logger_logs_ingested",
    "Logs received and kept: accepted (stored now) or duplicate (an id already stored)",
    ["outcome"],
)
LOGS_REJECTED = Counter(
    "central_logger_logs_rejected",
    "Logs refused, by reason: invalid (a field failed validation), rate_limited (the "
    "key's log budget was spent), too_large (a batch over MAX_BATCH_SIZE or the key's "
    "burst). A request refused before its logs are counted (a body over MAX_BODY_BYTES, "
    "a spent request budget, a bad key) is in central_logger_http_requests only",
    ["reason"],
)
RATE_LIMITED = Counter(
    "central_logger_rate_limited_requests",
    "Requests answered 429, by the budget that was spent: requests or logs (per key), "
    "reads or ingest (a tenant's concurrency budget)",
    ["budget"],
)
GROUP_COMMIT_ROWS = Histogram(
    "central_logger_group_commit_rows",
    "Rows per group-commit flush (one INSERT and one COMMIT)",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
GROUP_COMMIT_REQUESTS = Histogram(
    "central_logger_group_commit_requests",
    "Ingestion requests sharing one group-commit flush",
    buckets=(1, 2, 3, 5, 10, 20, 50, 100, 200),
)
LAST_FOLD_METRIC = "central_logger_rollup_last_fold_timestamp_seconds"
ROLLUP_LAST_FOLD = Gauge(
    LAST_FOLD_METRIC,
    "Unix time of the last successful fold of pending metric deltas into the rollups "
    "(central_logger_rollup_fold_lag_seconds is now minus this)",
    multiprocess_mode="max",
)
ROLLUP_FOLDED = Counter(
    "central_logger_rollup_folded_deltas",
    "Pending metric deltas folded into the rollups",
)
ROLLUP_FOLD_FAILURES = Counter(
    "central_logger_rollup_fold_failures",
    "Folds that failed (the database was unavailable, for example)",
)
DB_POOL_IN_USE = Gauge(
    "central_logger_db_pool_connections_in_use",
    "Database connections checked out of the request pools, summed over live workers",
    multiprocess_mode="livesum",
)
DB_POOL_OPEN = Gauge(
    "central_logger_db_pool_connections_open",
    "Database connections open in the request pools, summed over live workers",
    multiprocess_mode="livesum",
)
DB_POOL_CAPACITY = Gauge(
    "central_logger_db_pool_connections_max",
    "The most connections the request pools may open (DB_POOL_SIZE + DB_MAX_OVERFLOW "
    "per worker), summed over live workers",
    multiprocess_mode="livesum",
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    code = str(status)
    HTTP_REQUESTS.labels(method, route, code).inc()
    HTTP_LATENCY.labels(method, route, code).observe(seconds)


def count_ingested(*, accepted: int, duplicate: int) -> None:
    if accepted:
        LOGS_INGESTED.labels("accepted").inc(accepted)
    if duplicate:
        LOGS_INGESTED.labels("duplicate").inc(duplicate)


def count_rejected(reason: str, logs: int = 1) -> None:
    if logs > 0:
        LOGS_REJECTED.labels(reason).inc(logs)


def count_rate_limited(budget: str) -> None:
    RATE_LIMITED.labels(budget).inc()


def observe_flush(*, requests: int, rows: int) -> None:
    """One group-commit flush (logs/writer.py)."""
    GROUP_COMMIT_REQUESTS.observe(requests)
    GROUP_COMMIT_ROWS.observe(rows)


def observe_fold(folded: int | None) -> None:
    """One fold attempt's result (metrics/service.py): the deltas folded, or None when
    another process held the fold (its own fold is then the one that counts)."""
    if folded is None:
        return
    ROLLUP_LAST_FOLD.set(time.time())
    ROLLUP_FOLDED.inc(folded)


def count_fold_failure() -> None:
    ROLLUP_FOLD_FAILURES.inc()


def instrument_pool(engine: AsyncEngine, *, capacity: int) -> None:
    """Keep the pool gauges in step with `engine`'s pool through its events."""
    pool = engine.sync_engine.pool
    DB_POOL_CAPACITY.inc(capacity)

    def on_connect(*_: object) -> None:
        DB_POOL_OPEN.inc()

    def on_close(*_: object) -> None:
        DB_POOL_OPEN.dec()

    def on_checkout(*_: object) -> None:
        DB_POOL_IN_USE.inc()

    def on_checkin(*_: object) -> None:
        DB_POOL_IN_USE.dec()

    event.listen(pool, "connect", on_connect)
    event.listen(pool, "close", on_close)
    event.listen(pool, "close_detached", on_close)
    event.listen(pool, "checkout", on_checkout)
    event.listen(pool, "checkin", on_checkin)


def forget_pool(capacity: int) -> None:
    DB_POOL_CAPACITY.dec(capacity)


def process_stopped() -> None:
    """At a worker's shutdown: its live gauges (pool use) leave the sums."""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

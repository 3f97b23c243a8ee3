"""Migrations that reshape derived data keep every figure it held."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from alembic import command
from psycopg import sql

from central_logger.db.migrate import alembic_config
from central_logger.metrics.histogram import bucket_sql
from tests.support.databases import libpq_to_url, with_database

_INSERT_LOGS = """
    INSERT INTO workflow_logs (id, client_id, environment, executed_at, execution_time_seconds,
                               status, category)
    SELECT gen_random_uuid(), 'tenant_' || mod(i, 3),
           (ARRAY['production', 'staging'])[1 + mod(i, 2)],
           now() - make_interval(hours => mod(i, 200)),
           CASE WHEN mod(i, 7) = 0 THEN NULL ELSE i * 0.37 END,
           (ARRAY['SUCCESS', 'FAILED', 'TIMEOUT'])[1 + mod(i, 3)],
           (ARRAY['billing', 'refund', NULL])[1 + mod(i, 3)]
    FROM generate_series(%(first)s::int, %(last)s::int) AS i
"""

_HISTOGRAM_TOTALS = """
    SELECT client_id, dimension, value, cell.bucket, sum(cell.logs)::bigint FROM (
        SELECT client_id, dimension, value, buckets, logs FROM workflow_log_rollup_histogram_daily
        UNION ALL
        SELECT client_id, dimension, value, buckets, logs
        FROM workflow_log_rollup_histogram_pending
    ) AS rows, unnest(buckets, logs) AS cell(bucket, logs) GROUP BY 1, 2, 3, 4
"""

_RAW_TOTALS = f"""
    SELECT client_id, 'environment', environment, {bucket_sql("execution_time_seconds")},
           count(*) FROM workflow_logs WHERE execution_time_seconds IS NOT NULL GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT client_id, 'category', COALESCE(category, ''), {bucket_sql("execution_time_seconds")},
           count(*) FROM workflow_logs WHERE execution_time_seconds IS NOT NULL GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT client_id, 'workflow_version',
           jsonb_build_array(workflow_version, environment, COALESCE(category, ''))::text,
           {bucket_sql("execution_time_seconds")},
           count(*) FROM workflow_logs WHERE execution_time_seconds IS NOT NULL GROUP BY 1, 2, 3, 4
"""


@pytest.fixture
def scratch_database(server_url: str) -> Iterator[str]:
    name = f"central_logger_migration_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield libpq_to_url(with_database(server_url, name))
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_histogram_columns_become_histogram_rows_with_every_log_kept(scratch_database: str) -> None:
    config = alembic_config(scratch_database)
    command.upgrade(config, "20261126_otlp")
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        conn.execute(_INSERT_LOGS, {"first": 1, "last": 600})
        conn.execute("SELECT workflow_log_rollup_fold()")  # into hourly and daily
        conn.execute(_INSERT_LOGS, {"first": 601, "last": 700})  # left pending
    command.upgrade(config, "head")
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        raw = sorted(conn.execute(_RAW_TOTALS).fetchall())
        # Daily + pending hold every log once, as hourly + pending do.
        assert sorted(conn.execute(_HISTOGRAM_TOTALS).fetchall()) == raw
        hourly = _HISTOGRAM_TOTALS.replace("histogram_daily", "histogram_hourly")
        assert sorted(conn.execute(hourly).fetchall()) == raw
        # The trigger and the fold keep them so after the migration too.
        conn.execute(_INSERT_LOGS, {"first": 701, "last": 900})
        conn.execute("SELECT workflow_log_rollup_fold()")
        conn.execute(_INSERT_LOGS, {"first": 901, "last": 950})
        raw = sorted(conn.execute(_RAW_TOTALS).fetchall())
        assert sorted(conn.execute(_HISTOGRAM_TOTALS).fetchall()) == raw
        assert sorted(conn.execute(hourly).fetchall()) == raw
        columns = conn.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'workflow_log_rollup_daily' AND column_name LIKE 'h%%'"
        ).fetchone()
        assert columns == (0,)


_DIMENSION_COUNTS = """
    SELECT client_id, dimension, value, sum(runs)::bigint, sum(failed_runs)::bigint,
           sum(time_count)::bigint, round(sum(time_sum)::numeric, 6)
    FROM (
        SELECT * FROM workflow_log_rollup_histogram_daily
        UNION ALL
        SELECT client_id, hour, dimension, value, buckets, logs, runs, failed_runs,
               time_count, time_sum
        FROM workflow_log_rollup_histogram_pending
    ) AS rows GROUP BY 1, 2, 3
"""

_RAW_COUNTS = """
    SELECT client_id, dimension, value, count(*), count(*) FILTER (WHERE status <> 'SUCCESS'),
           count(execution_time_seconds),
           round(COALESCE(sum(execution_time_seconds), 0)::numeric, 6)
    FROM (
        SELECT client_id, 'environment' AS dimension, environment AS value, status,
               execution_time_seconds FROM workflow_logs
        UNION ALL
        SELECT client_id, 'category', COALESCE(category, ''), status, execution_time_seconds
        FROM workflow_logs
        UNION ALL
        SELECT client_id, 'workflow_version',
               jsonb_build_array(workflow_version, environment, COALESCE(category, ''))::text,
               status, execution_time_seconds
        FROM workflow_logs
    ) AS logs GROUP BY 1, 2, 3
"""


def test_dimension_rows_gain_the_counts_of_every_log(scratch_database: str) -> None:
    config = alembic_config(scratch_database)
    command.upgrade(config, "20261127_filter_indexes")
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        conn.execute(_INSERT_LOGS, {"first": 1, "last": 600})
        conn.execute("SELECT workflow_log_rollup_fold()")
        conn.execute(_INSERT_LOGS, {"first": 601, "last": 700})  # left pending
    command.upgrade(config, "head")
    hourly = _DIMENSION_COUNTS.replace("histogram_daily", "histogram_hourly")
    with psycopg.connect(scratch_database, autocommit=True) as conn:
        for step in ("converted", "after a fold", "pending again"):
            raw = sorted(conn.execute(_RAW_COUNTS).fetchall())
            assert sorted(conn.execute(_DIMENSION_COUNTS).fetchall()) == raw, step
            assert sorted(conn.execute(hourly).fetchall()) == raw, step
            # The arrays hold the same logs as before.
            assert sorted(conn.execute(_HISTOGRAM_TOTALS).fetchall()) == sorted(
                conn.execute(_RAW_TOTALS).fetchall()
            ), step
            if step == "converted":
                conn.execute(_INSERT_LOGS, {"first": 701, "last": 900})
                conn.execute("SELECT workflow_log_rollup_fold()")
            elif step == "after a fold":
                conn.execute(_INSERT_LOGS, {"first": 901, "last": 950})

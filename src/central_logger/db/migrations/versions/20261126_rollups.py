"""metrics rollups: per-statement deltas, folded into hourly and daily rollups

Revision ID: 20261126_rollups
Revises: 20261126_initial
Create Date: 2026-11-26

Ingestion never updates a shared row: a statement trigger appends one delta row per
(client, hour, environment, category, status) of what the statement inserted to
workflow_log_rollup_pending. A background task folds pending deltas into the hourly
and daily rollups in one transaction (DELETE ... RETURNING feeding both upserts), and
queries read rollups + pending together, so figures are exact and fresh at once.
The histogram is fixed here: it must agree with central_logger.metrics.histogram.
"""

from __future__ import annotations

from alembic import op

revision = "20261126_rollups"
down_revision = "20261126_initial"
branch_labels = None
depends_on = None

# Frozen copies of central_logger.metrics.histogram at the time of this migration.
_BUCKETS = 128
_COLUMNS = [f"h{i:03d}" for i in range(_BUCKETS)]
_BUCKET = (
    "LEAST(127, GREATEST(0, floor(ln(GREATEST(execution_time_seconds, 0.01) / 0.01)"
    " / ln(1.1))::int))"
)
_KEY = (
    "client_id text NOT NULL, {time} timestamptz NOT NULL, environment text NOT NULL, "
    "category text NOT NULL, status text NOT NULL"
)
_MEASURES = (
    "runs bigint NOT NULL, failed_runs bigint NOT NULL, time_count bigint NOT NULL, "
    "time_sum double precision NOT NULL, "
    + ", ".join(f"{c} integer NOT NULL DEFAULT 0" for c in _COLUMNS)
)
_MEASURE_NAMES = ["runs", "failed_runs", "time_count", "time_sum", *_COLUMNS]


def _delta_select(source: str) -> str:
    histogram = ", ".join(
        f"count(*) FILTER (WHERE execution_time_seconds IS NOT NULL AND bucket = {i})"
        for i in range(_BUCKETS)
    )
    return f"""
        SELECT client_id, hour, environment, category, status,
               count(*), count(*) FILTER (WHERE status <> 'SUCCESS'),
               count(execution_time_seconds), COALESCE(sum(execution_time_seconds), 0),
               {histogram}
        FROM (
            SELECT client_id, date_trunc('hour', executed_at, 'UTC') AS hour, environment,
                   COALESCE(category, '') AS category, status, execution_time_seconds,
                   {_BUCKET} AS bucket
            FROM {source}
        ) AS rows
        GROUP BY client_id, hour, environment, category, status
    """


def _fold(target: str, time_column: str, time_expression: str) -> str:
    updates = ", ".join(f"{m} = {target}.{m} + EXCLUDED.{m}" for m in _MEASURE_NAMES)
    sums = ", ".join(f"sum({m})" for m in _MEASURE_NAMES)
    return f"""
        INSERT INTO {target} (client_id, {time_column}, environment, category, status,
                              {", ".join(_MEASURE_NAMES)})
        SELECT client_id, {time_expression}, environment, category, status, {sums}
        FROM moved
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (client_id, {time_column}, environment, category, status)
        DO UPDATE SET {updates}
    """


def upgrade() -> None:
    op.execute(
        f"CREATE TABLE workflow_log_rollup_pending ({_KEY.format(time='hour')}, {_MEASURES})"
    )
    op.execute(
        "CREATE INDEX ix_workflow_log_rollup_pending_client_hour "
        "ON workflow_log_rollup_pending (client_id, hour)"
    )
    # Every fold deletes what the table holds: vacuum it after a thousand dead rows, not
    # after a fifth of the table, so reads of the pending deltas stay a few pages.
    op.execute(
        "ALTER TABLE workflow_log_rollup_pending SET (autovacuum_vacuum_scale_factor = 0, "
        "autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0)"
    )
    for table, time_column in (
        ("workflow_log_rollup_hourly", "hour"),
        ("workflow_log_rollup_daily", "day"),
    ):
        op.execute(
            f"CREATE TABLE {table} ({_KEY.format(time=time_column)}, {_MEASURES}, "
            f"CONSTRAINT pk_{table} PRIMARY KEY "
            f"(client_id, {time_column}, environment, category, status))"
        )

    columns = ", ".join(["client_id", "hour", "environment", "category", "status", *_MEASURE_NAMES])
    op.execute(
        f"""
        CREATE FUNCTION workflow_logs_record_rollup_delta() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO workflow_log_rollup_pending ({columns})
            {_delta_select("inserted_rows")};
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER workflow_logs_rollup_delta
        AFTER INSERT ON workflow_logs
        REFERENCING NEW TABLE AS inserted_rows
        FOR EACH STATEMENT EXECUTE FUNCTION workflow_logs_record_rollup_delta()
        """
    )
    # One function folds the pending deltas, so the service runs one statement.
    op.execute(
        f"""
        CREATE FUNCTION workflow_log_rollup_fold() RETURNS bigint
        LANGUAGE sql AS $$
            WITH moved AS (DELETE FROM workflow_log_rollup_pending RETURNING *),
            hourly AS ({_fold("workflow_log_rollup_hourly", "hour", "hour")} RETURNING 1),
            daily AS ({_fold("workflow_log_rollup_daily", "day", "date_trunc('day', hour, 'UTC')")}
                      RETURNING 1)
            SELECT (SELECT count(*) FROM moved)
                 + 0 * (SELECT count(*) FROM hourly) + 0 * (SELECT count(*) FROM daily)
        $$
        """
    )
    # ~1 KB payloads sit below the default 2 KB TOAST threshold and are stored
    # uncompressed. Where the server has lz4 (cheap enough for the ingestion path),
    # a lower target makes PostgreSQL compress them inline.
    op.execute(
        """
        DO $$
        BEGIN
            IF (SELECT attcompression FROM pg_attribute
                WHERE attrelid = 'workflow_logs'::regclass AND attname = 'payload') = 'l' THEN
                ALTER TABLE workflow_logs SET (toast_tuple_target = 512);
            END IF;
        END
        $$;
        """
    )
    # Logs stored before this migration.
    op.execute(
        f"INSERT INTO workflow_log_rollup_pending ({columns}) {_delta_select('workflow_logs')}"
    )
    op.execute("SELECT workflow_log_rollup_fold()")


def downgrade() -> None:
    op.execute("ALTER TABLE workflow_logs RESET (toast_tuple_target)")
    op.execute("DROP TRIGGER workflow_logs_rollup_delta ON workflow_logs")
    op.execute("DROP FUNCTION workflow_logs_record_rollup_delta()")
    op.execute("DROP FUNCTION workflow_log_rollup_fold()")
    op.execute("DROP TABLE workflow_log_rollup_daily")
    op.execute("DROP TABLE workflow_log_rollup_hourly")
    op.execute("DROP TABLE workflow_log_rollup_pending")

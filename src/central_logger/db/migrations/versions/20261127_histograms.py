"""sparse histograms: execution-time buckets move out of the rollup rows

Revision ID: 20261127_histograms
Revises: 20261126_otlp
Create Date: 2026-11-27

The rollups kept 128 histogram columns on every (client, hour, environment, category,
status) row. At a few logs per row those columns were most of the rollups' size and
of the metrics queries' time (summing 128 columns over thousands of rows). Now the
count rollups keep four measures, and histograms live in their own tables, one row
per value of what the metrics split them by, holding only the buckets with logs:

    workflow_log_rollup_histogram_{pending,hourly,daily}
        (client_id, hour|day, dimension, value) -> buckets smallint[], logs bigint[]

where dimension 'environment' feeds the overview (filtered by environment or not)
and 'category' the categories. (One row per bucket was tried first: a month of one
client's categories was 12,000 rows to read; as arrays it is 360.) The statement
trigger and the fold keep both kinds of rollup in step; existing histogram columns
are converted, not recomputed.
"""

from __future__ import annotations

from alembic import op

from central_logger.db.tenancy import tenant_policy_sql

revision = "20261127_histograms"
down_revision = "20261126_otlp"
branch_labels = None
depends_on = None

# Frozen copies of central_logger.metrics.histogram at the time of this migration.
_BUCKETS = 128
_OLD_COLUMNS = [f"h{i:03d}" for i in range(_BUCKETS)]
_BUCKET = (
    "LEAST(127, GREATEST(0, floor(ln(GREATEST(execution_time_seconds, 0.01) / 0.01)"
    " / ln(1.1))::int))"
)
_MEASURES = ["runs", "failed_runs", "time_count", "time_sum"]
_LEVELS = (("pending", "hour"), ("hourly", "hour"), ("daily", "day"))


def _histogram_table(level: str) -> str:
    return f"workflow_log_rollup_histogram_{level}"


def _cells(source: str, time_column: str) -> str:
    """(client_id, t, dimension, value, bucket, logs) of the logs in `source`."""
    return f"""
        SELECT client_id, {time_column} AS t,
               CASE WHEN GROUPING(environment) = 0 THEN 'environment' ELSE 'category' END
                   AS dimension,
               COALESCE(environment, category) AS value, bucket, count(*) AS logs
        FROM (
            SELECT client_id, date_trunc('hour', executed_at, 'UTC') AS hour, environment,
                   COALESCE(category, '') AS category, {_BUCKET} AS bucket
            FROM {source}
            WHERE execution_time_seconds IS NOT NULL
        ) AS timed
        GROUP BY GROUPING SETS ((client_id, {time_column}, environment, bucket),
                                (client_id, {time_column}, category, bucket))
    """


def _packed(cells: str) -> str:
    """Cells (client_id, t, dimension, value, bucket, logs) as one row per value."""
    return f"""
        SELECT client_id, t, dimension, value,
               array_agg(bucket::smallint ORDER BY bucket), array_agg(logs::bigint ORDER BY bucket)
        FROM ({cells}) AS cells
        GROUP BY client_id, t, dimension, value
    """


def _count_deltas(source: str) -> str:
    return f"""
        SELECT client_id, date_trunc('hour', executed_at, 'UTC'), environment,
               COALESCE(category, ''), status,
               count(*), count(*) FILTER (WHERE status <> 'SUCCESS'),
               count(execution_time_seconds), COALESCE(sum(execution_time_seconds), 0)
        FROM {source}
        GROUP BY 1, 2, 3, 4, 5
    """


def _fold_counts(target: str, time_column: str, time_expression: str) -> str:
    updates = ", ".join(f"{m} = {target}.{m} + EXCLUDED.{m}" for m in _MEASURES)
    return f"""
        INSERT INTO {target} (client_id, {time_column}, environment, category, status,
                              {", ".join(_MEASURES)})
        SELECT client_id, {time_expression}, environment, category, status,
               {", ".join(f"sum({m})" for m in _MEASURES)}
        FROM moved_counts
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (client_id, {time_column}, environment, category, status)
        DO UPDATE SET {updates}
    """


def _fold_histogram(target: str, time_column: str, time_expression: str) -> str:
    cells = f"""
        SELECT client_id, {time_expression} AS t, dimension, value, bucket, sum(logs) AS logs
        FROM moved_cells GROUP BY 1, 2, 3, 4, 5
    """
    return f"""
        INSERT INTO {target} AS stored (client_id, {time_column}, dimension, value, buckets, logs)
        {_packed(cells)}
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (client_id, dimension, {time_column}, value)
        DO UPDATE SET (buckets, logs) = (
            SELECT array_agg(bucket ORDER BY bucket), array_agg(logs ORDER BY bucket)
            FROM (
                SELECT bucket, sum(logs)::bigint AS logs
                FROM unnest(stored.buckets || EXCLUDED.buckets, stored.logs || EXCLUDED.logs)
                    AS merged(bucket, logs)
                GROUP BY bucket
            ) AS summed
        )
    """


_FOLD = f"""
    CREATE OR REPLACE FUNCTION workflow_log_rollup_fold() RETURNS bigint
    LANGUAGE sql SET app.is_admin = 'on' AS $$
        WITH moved AS (DELETE FROM workflow_log_rollup_histogram_pending RETURNING *),
        moved_cells AS (
            SELECT moved.client_id, moved.hour, moved.dimension, moved.value, cell.bucket,
                   cell.logs
            FROM moved, unnest(moved.buckets, moved.logs) AS cell(bucket, logs)),
        hourly AS ({_fold_histogram(_histogram_table("hourly"), "hour", "hour")} RETURNING 1),
        daily AS ({
    _fold_histogram(_histogram_table("daily"), "day", "date_trunc('day', hour, 'UTC')")
} RETURNING 1)
        SELECT 0 * (SELECT count(*) FROM hourly) + 0 * (SELECT count(*) FROM daily);

        WITH moved_counts AS (DELETE FROM workflow_log_rollup_pending RETURNING *),
        hourly AS ({_fold_counts("workflow_log_rollup_hourly", "hour", "hour")} RETURNING 1),
        daily AS ({
    _fold_counts("workflow_log_rollup_daily", "day", "date_trunc('day', hour, 'UTC')")
} RETURNING 1)
        SELECT (SELECT count(*) FROM moved_counts)
             + 0 * (SELECT count(*) FROM hourly) + 0 * (SELECT count(*) FROM daily)
    $$
"""

_RECORD_DELTAS = f"""
    CREATE OR REPLACE FUNCTION workflow_logs_record_rollup_delta() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO workflow_log_rollup_pending (
            client_id, hour, environment, category, status, {", ".join(_MEASURES)})
        {_count_deltas("inserted_rows")};
        INSERT INTO workflow_log_rollup_histogram_pending (
            client_id, hour, dimension, value, buckets, logs)
        {_packed(_cells("inserted_rows", "hour"))};
        RETURN NULL;
    END
    $$
"""


def _convert_histogram_columns(level: str, time_column: str) -> str:
    """The old columns of one rollup level as histogram rows of the same level."""
    as_array = ", ".join(_OLD_COLUMNS)
    cells = f"""
        SELECT client_id, {time_column} AS t,
               CASE WHEN GROUPING(environment) = 0 THEN 'environment' ELSE 'category' END
                   AS dimension,
               COALESCE(environment, category) AS value, bucket, sum(logs) AS logs
        FROM (
            SELECT r.client_id, r.{time_column}, r.environment, r.category,
                   (b.ordinality - 1)::smallint AS bucket, b.logs
            FROM workflow_log_rollup_{level} AS r,
                 unnest(ARRAY[{as_array}]) WITH ORDINALITY AS b(logs, ordinality)
            WHERE b.logs > 0
        ) AS buckets
        GROUP BY GROUPING SETS ((client_id, {time_column}, environment, bucket),
                                (client_id, {time_column}, category, bucket))
    """
    return f"""
        INSERT INTO {_histogram_table(level)} (client_id, {time_column}, dimension, value,
                                               buckets, logs)
        {_packed(cells)}
    """


def upgrade() -> None:
    for level, time_column in _LEVELS:
        table = _histogram_table(level)
        key = (
            ""
            if level == "pending"
            else f", CONSTRAINT pk_{table} PRIMARY KEY (client_id, dimension, {time_column}, value)"
        )
        # buckets ascending, logs[i] the logs in buckets[i]; only buckets that hold logs.
        op.execute(
            f"CREATE TABLE {table} (client_id text NOT NULL, {time_column} timestamptz NOT NULL,"
            " dimension text NOT NULL, value text NOT NULL, buckets smallint[] NOT NULL,"
            f" logs bigint[] NOT NULL{key})"
        )
        for statement in tenant_policy_sql(table):
            op.execute(statement)
    op.execute(
        f"CREATE INDEX ix_{_histogram_table('pending')}_client_hour "
        f"ON {_histogram_table('pending')} (client_id, hour)"
    )
    op.execute(
        f"ALTER TABLE {_histogram_table('pending')} SET (autovacuum_vacuum_scale_factor = 0, "
        "autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0)"
    )
    for level, time_column in _LEVELS:
        op.execute(_convert_histogram_columns(level, time_column))
        op.execute(
            f"ALTER TABLE workflow_log_rollup_{level} "
            + ", ".join(f"DROP COLUMN {c}" for c in _OLD_COLUMNS)
        )
    op.execute(_RECORD_DELTAS)
    op.execute(_FOLD)


def downgrade() -> None:
    raise NotImplementedError("the 128-column histograms are not rebuilt; restore a backup")

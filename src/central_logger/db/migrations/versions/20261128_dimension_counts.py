"""counts on the histogram rows: a dimension row carries its value's counts

Revision ID: 20261128_dimension_counts
Revises: 20261127_filter_indexes
Create Date: 2026-11-28

The categories view read its counts from the count rollups, one row per (environment,
category, status) of every hour or day: 141 rows per client-day at 5M logs, against
12 histogram rows per client-day for the same categories. Now every row of

    workflow_log_rollup_histogram_{pending,hourly,daily}
        (client_id, hour|day, dimension, value)

also holds runs, failed_runs, time_count and time_sum of the logs with that value,
with or without a duration (a value whose logs have no duration has empty arrays),
so the categories view, unfiltered by environment, reads these rows alone. The count
rollups stay: the overview's status split and the environment-filtered views need
them. Pending deltas are folded first; the rollups' counts are copied, not recomputed.
"""

from __future__ import annotations

from alembic import op

revision = "20261128_dimension_counts"
down_revision = "20261127_filter_indexes"
branch_labels = None
depends_on = None

# Frozen copies of central_logger.metrics.histogram at the time of this migration.
_BUCKET = (
    "LEAST(127, GREATEST(0, floor(ln(GREATEST(execution_time_seconds, 0.01) / 0.01)"
    " / ln(1.1))::int))"
)
_MEASURES = ["runs", "failed_runs", "time_count", "time_sum"]
_LEVELS = (("pending", "hour"), ("hourly", "hour"), ("daily", "day"))
_COLUMN_TYPES = {
    "runs": "bigint",
    "failed_runs": "bigint",
    "time_count": "bigint",
    "time_sum": "double precision",
}


def _table(level: str) -> str:
    return f"workflow_log_rollup_histogram_{level}"


def _dimension(grouped_by_environment: str) -> str:
    return (
        f"CASE WHEN GROUPING({grouped_by_environment}) = 0 THEN 'environment' ELSE 'category' END"
    )


def _packed(cells: str) -> str:
    """Cells (client_id, t, dimension, value, bucket, logs, measures...) as one row per
    value: the buckets with logs as arrays (NULL bucket: logs without a duration, in
    the measures only), and the measures summed."""
    sums = ", ".join(f"sum({m})" for m in _MEASURES)
    return f"""
        SELECT client_id, t, dimension, value,
               COALESCE(array_agg(bucket::smallint ORDER BY bucket)
                        FILTER (WHERE bucket IS NOT NULL), '{{}}'),
               COALESCE(array_agg(logs::bigint ORDER BY bucket)
                        FILTER (WHERE bucket IS NOT NULL), '{{}}'),
               {sums}
        FROM ({cells}) AS cells
        GROUP BY client_id, t, dimension, value
    """


_RECORD_DELTAS = f"""
    CREATE OR REPLACE FUNCTION workflow_logs_record_rollup_delta() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO workflow_log_rollup_pending (
            client_id, hour, environment, category, status, {", ".join(_MEASURES)})
        SELECT client_id, date_trunc('hour', executed_at, 'UTC'), environment,
               COALESCE(category, ''), status,
               count(*), count(*) FILTER (WHERE status <> 'SUCCESS'),
               count(execution_time_seconds), COALESCE(sum(execution_time_seconds), 0)
        FROM inserted_rows
        GROUP BY 1, 2, 3, 4, 5;
        INSERT INTO workflow_log_rollup_histogram_pending (
            client_id, hour, dimension, value, buckets, logs, {", ".join(_MEASURES)})
        {
    _packed(f'''
            SELECT client_id, hour AS t, {_dimension("environment")} AS dimension,
                   COALESCE(environment, category) AS value, bucket,
                   count(*) AS logs, count(*) AS runs,
                   count(*) FILTER (WHERE status <> 'SUCCESS') AS failed_runs,
                   count(execution_time_seconds) AS time_count,
                   COALESCE(sum(execution_time_seconds), 0) AS time_sum
            FROM (
                SELECT client_id, date_trunc('hour', executed_at, 'UTC') AS hour,
                       environment, COALESCE(category, '') AS category, status,
                       execution_time_seconds,
                       CASE WHEN execution_time_seconds IS NOT NULL THEN {_BUCKET} END
                           AS bucket
                FROM inserted_rows
            ) AS timed
            GROUP BY GROUPING SETS ((client_id, hour, environment, bucket),
                                    (client_id, hour, category, bucket))
    ''')
};
        RETURN NULL;
    END
    $$
"""


def _fold_histogram(target: str, time_column: str, time_expression: str) -> str:
    cells = f"""
        SELECT client_id, {time_expression} AS t, dimension, value, bucket,
               sum(logs) AS logs, {", ".join(f"sum({m}) AS {m}" for m in _MEASURES)}
        FROM moved_cells GROUP BY 1, 2, 3, 4, 5
    """
    added = ", ".join(f"{m} = stored.{m} + EXCLUDED.{m}" for m in _MEASURES)
    return f"""
        INSERT INTO {target} AS stored (client_id, {time_column}, dimension, value, buckets,
                                        logs, {", ".join(_MEASURES)})
        {_packed(cells)}
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (client_id, dimension, {time_column}, value)
        DO UPDATE SET (buckets, logs) = (
            SELECT COALESCE(array_agg(bucket ORDER BY bucket), '{{}}'),
                   COALESCE(array_agg(logs ORDER BY bucket), '{{}}')
            FROM (
                SELECT bucket, sum(logs)::bigint AS logs
                FROM unnest(stored.buckets || EXCLUDED.buckets, stored.logs || EXCLUDED.logs)
                    AS merged(bucket, logs)
                GROUP BY bucket
            ) AS summed
        ), {added}
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


# A moved row's measures ride on its first cell (or, with no buckets, on a cell of
# NULL bucket), so one grouping sums the buckets and the measures alike.
_MOVED_CELLS = f"""
    SELECT moved.client_id, moved.hour, moved.dimension, moved.value, cell.bucket,
           cell.logs,
           {
    ", ".join(
        f"CASE WHEN cell.i IS NULL OR cell.i = 1 THEN moved.{m} ELSE 0 END AS {m}"
        for m in _MEASURES
    )
}
    FROM moved
    LEFT JOIN LATERAL unnest(moved.buckets, moved.logs) WITH ORDINALITY
        AS cell(bucket, logs, i) ON true
"""

_FOLD = f"""
    CREATE OR REPLACE FUNCTION workflow_log_rollup_fold() RETURNS bigint
    LANGUAGE sql SET app.is_admin = 'on' AS $$
        WITH moved AS (DELETE FROM workflow_log_rollup_histogram_pending RETURNING *),
        moved_cells AS ({_MOVED_CELLS}),
        hourly AS ({_fold_histogram(_table("hourly"), "hour", "hour")} RETURNING 1),
        daily AS ({
    _fold_histogram(_table("daily"), "day", "date_trunc('day', hour, 'UTC')")
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


def _copy_counts(level: str, time_column: str) -> str:
    """The count rollup's measures of one level onto its dimension rows (a row is added,
    with empty arrays, for a value whose logs have no duration)."""
    sums = ", ".join(f"sum({m})" for m in _MEASURES)
    return f"""
        INSERT INTO {_table(level)} AS stored (client_id, {time_column}, dimension, value,
                                               buckets, logs, {", ".join(_MEASURES)})
        SELECT client_id, {time_column}, {_dimension("environment")},
               COALESCE(environment, category), '{{}}', '{{}}', {sums}
        FROM workflow_log_rollup_{level}
        GROUP BY GROUPING SETS ((client_id, {time_column}, environment),
                                (client_id, {time_column}, category))
        ON CONFLICT (client_id, dimension, {time_column}, value)
        DO UPDATE SET {", ".join(f"{m} = EXCLUDED.{m}" for m in _MEASURES)}
    """


def upgrade() -> None:
    # Pending deltas folded by the old function: only the two rollup levels to convert.
    op.execute("SELECT workflow_log_rollup_fold()")
    for level, _ in _LEVELS:
        op.execute(
            f"ALTER TABLE {_table(level)} "
            + ", ".join(f"ADD COLUMN {m} {_COLUMN_TYPES[m]} NOT NULL DEFAULT 0" for m in _MEASURES)
        )
    for level, time_column in _LEVELS[1:]:
        op.execute(_copy_counts(level, time_column))
    op.execute(_RECORD_DELTAS)
    op.execute(_FOLD)


def downgrade() -> None:
    raise NotImplementedError("the dimension counts are not removed; restore a backup")

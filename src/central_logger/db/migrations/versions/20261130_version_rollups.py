"""version rollups: the dimension rollups also keep one row per (workflow_version,
environment, category)

Revision ID: 20261130_version_rollups
Revises: 20261129_retention_policies
Create Date: 2026-11-30

Insights compare workflow versions and look for unusual hours per category and
environment (insights/). The dimension rollups

    workflow_log_rollup_histogram_{pending,hourly,daily}

gain a third dimension, 'workflow_version', whose value is the JSON array
[workflow_version, environment, category] (text, as jsonb prints it; a log without a
version has null there, without a category ""). The trigger's function writes it from
now on; existing logs are backfilled into the hourly and daily levels straight from
workflow_logs (their pending deltas hold no such rows, so nothing is counted twice).
Logs already deleted by retention cannot be backfilled: their days have no version rows.
Inserts wait for the backfill (SHARE lock), so none is missed between the two.
"""

from __future__ import annotations

from alembic import op

revision = "20261130_version_rollups"
down_revision = "20261129_retention_policies"
branch_labels = None
depends_on = None

# Frozen copy of db/sql/workflow_logs_record_rollup_delta.sql at this migration.
_RECORD_DELTAS = """
CREATE OR REPLACE FUNCTION workflow_logs_record_rollup_delta() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Counts per (client, hour, environment, category, status).
    INSERT INTO workflow_log_rollup_pending (
        client_id, hour, environment, category, status,
        runs, failed_runs, time_count, time_sum)
    SELECT client_id, date_trunc('hour', executed_at, 'UTC'), environment,
           COALESCE(category, ''), status,
           count(*), count(*) FILTER (WHERE status <> 'SUCCESS'),
           count(execution_time_seconds), COALESCE(sum(execution_time_seconds), 0)
    FROM inserted_rows
    GROUP BY 1, 2, 3, 4, 5;

    -- One row per (client, hour, dimension, value): the buckets holding logs with a
    -- duration as arrays (a NULL bucket is the logs without one: counted, not in the
    -- arrays), and the value's counts. Dimension 'workflow_version' is one row per
    -- (workflow_version, environment, category), its value that triple as a JSON array
    -- (insights/: version comparison and anomalies per category and environment).
    INSERT INTO workflow_log_rollup_histogram_pending (
        client_id, hour, dimension, value, buckets, logs,
        runs, failed_runs, time_count, time_sum)
    SELECT client_id, t, dimension, value,
           COALESCE(array_agg(bucket::smallint ORDER BY bucket)
                    FILTER (WHERE bucket IS NOT NULL), '{}'),
           COALESCE(array_agg(logs::bigint ORDER BY bucket)
                    FILTER (WHERE bucket IS NOT NULL), '{}'),
           sum(runs), sum(failed_runs), sum(time_count), sum(time_sum)
    FROM (
        SELECT client_id, hour AS t,
               CASE WHEN GROUPING(workflow_version) = 0 THEN 'workflow_version'
                    WHEN GROUPING(environment) = 0 THEN 'environment'
                    ELSE 'category' END AS dimension,
               CASE WHEN GROUPING(workflow_version) = 0
                    THEN jsonb_build_array(workflow_version, environment, category)::text
                    ELSE COALESCE(environment, category) END AS value,
               bucket,
               count(*) AS logs, count(*) AS runs,
               count(*) FILTER (WHERE status <> 'SUCCESS') AS failed_runs,
               count(execution_time_seconds) AS time_count,
               COALESCE(sum(execution_time_seconds), 0) AS time_sum
        FROM (
            SELECT client_id, date_trunc('hour', executed_at, 'UTC') AS hour,
                   environment, COALESCE(category, '') AS category, status,
                   execution_time_seconds, workflow_version,
                   CASE WHEN execution_time_seconds IS NOT NULL THEN
                       LEAST(127, GREATEST(0, floor(
                           ln(GREATEST(execution_time_seconds, 0.01) / 0.01) / ln(1.1))::int))
                   END AS bucket
            FROM inserted_rows
        ) AS timed
        GROUP BY GROUPING SETS ((client_id, hour, environment, bucket),
                                (client_id, hour, category, bucket),
                                (client_id, hour, workflow_version, environment, category,
                                 bucket))
    ) AS cells
    GROUP BY client_id, t, dimension, value;

    RETURN NULL;
END
$$;
"""

# The function as 20261128_dimension_counts left it, for the downgrade.
_RECORD_DELTAS_BEFORE = """
CREATE OR REPLACE FUNCTION workflow_logs_record_rollup_delta() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Counts per (client, hour, environment, category, status).
    INSERT INTO workflow_log_rollup_pending (
        client_id, hour, environment, category, status,
        runs, failed_runs, time_count, time_sum)
    SELECT client_id, date_trunc('hour', executed_at, 'UTC'), environment,
           COALESCE(category, ''), status,
           count(*), count(*) FILTER (WHERE status <> 'SUCCESS'),
           count(execution_time_seconds), COALESCE(sum(execution_time_seconds), 0)
    FROM inserted_rows
    GROUP BY 1, 2, 3, 4, 5;

    -- One row per (client, hour, dimension, value): the buckets holding logs with a
    -- duration as arrays (a NULL bucket is the logs without one: counted, not in the
    -- arrays), and the value's counts.
    INSERT INTO workflow_log_rollup_histogram_pending (
        client_id, hour, dimension, value, buckets, logs,
        runs, failed_runs, time_count, time_sum)
    SELECT client_id, t, dimension, value,
           COALESCE(array_agg(bucket::smallint ORDER BY bucket)
                    FILTER (WHERE bucket IS NOT NULL), '{}'),
           COALESCE(array_agg(logs::bigint ORDER BY bucket)
                    FILTER (WHERE bucket IS NOT NULL), '{}'),
           sum(runs), sum(failed_runs), sum(time_count), sum(time_sum)
    FROM (
        SELECT client_id, hour AS t,
               CASE WHEN GROUPING(environment) = 0 THEN 'environment' ELSE 'category' END
                   AS dimension,
               COALESCE(environment, category) AS value, bucket,
               count(*) AS logs, count(*) AS runs,
               count(*) FILTER (WHERE status <> 'SUCCESS') AS failed_runs,
               count(execution_time_seconds) AS time_count,
               COALESCE(sum(execution_time_seconds), 0) AS time_sum
        FROM (
            SELECT client_id, date_trunc('hour', executed_at, 'UTC') AS hour,
                   environment, COALESCE(category, '') AS category, status,
                   execution_time_seconds,
                   CASE WHEN execution_time_seconds IS NOT NULL THEN
                       LEAST(127, GREATEST(0, floor(
                           ln(GREATEST(execution_time_seconds, 0.01) / 0.01) / ln(1.1))::int))
                   END AS bucket
            FROM inserted_rows
        ) AS timed
        GROUP BY GROUPING SETS ((client_id, hour, environment, bucket),
                                (client_id, hour, category, bucket))
    ) AS cells
    GROUP BY client_id, t, dimension, value;

    RETURN NULL;
END
$$;
"""

_BUCKET = (
    "LEAST(127, GREATEST(0, floor(ln(GREATEST(execution_time_seconds, 0.01) / 0.01)"
    " / ln(1.1))::int))"
)


def _backfill(level: str, time_column: str) -> str:
    return f"""
        INSERT INTO workflow_log_rollup_histogram_{level} (
            client_id, {time_column}, dimension, value, buckets, logs,
            runs, failed_runs, time_count, time_sum)
        SELECT client_id, t, 'workflow_version', value,
               COALESCE(array_agg(bucket::smallint ORDER BY bucket)
                        FILTER (WHERE bucket IS NOT NULL), '{{}}'),
               COALESCE(array_agg(logs::bigint ORDER BY bucket)
                        FILTER (WHERE bucket IS NOT NULL), '{{}}'),
               sum(runs), sum(failed_runs), sum(time_count), sum(time_sum)
        FROM (
            SELECT client_id, date_trunc('{time_column}', executed_at, 'UTC') AS t,
                   jsonb_build_array(workflow_version, environment,
                                     COALESCE(category, ''))::text AS value,
                   CASE WHEN execution_time_seconds IS NOT NULL THEN {_BUCKET} END AS bucket,
                   count(*) AS logs, count(*) AS runs,
                   count(*) FILTER (WHERE status <> 'SUCCESS') AS failed_runs,
                   count(execution_time_seconds) AS time_count,
                   COALESCE(sum(execution_time_seconds), 0) AS time_sum
            FROM workflow_logs
            GROUP BY 1, 2, 3, 4
        ) AS cells
        GROUP BY client_id, t, value
    """


def upgrade() -> None:
    op.execute("LOCK TABLE workflow_logs IN SHARE MODE")
    op.execute(_RECORD_DELTAS)
    # The tables force row-level security: the backfill speaks for every tenant.
    op.execute("SET LOCAL app.is_admin = 'on'")
    op.execute(_backfill("hourly", "hour"))
    op.execute(_backfill("daily", "day"))
    op.execute("RESET app.is_admin")


def downgrade() -> None:
    op.execute(_RECORD_DELTAS_BEFORE)
    op.execute("SET LOCAL app.is_admin = 'on'")
    for level in ("pending", "hourly", "daily"):
        op.execute(
            f"DELETE FROM workflow_log_rollup_histogram_{level}"
            " WHERE dimension = 'workflow_version'"
        )
    op.execute("RESET app.is_admin")

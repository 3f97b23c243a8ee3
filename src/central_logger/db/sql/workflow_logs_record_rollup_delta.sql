-- What one INSERT statement into workflow_logs added, as rollup deltas: called by the
-- trigger workflow_logs_rollup_delta once per statement with every inserted row in
-- `inserted_rows`. Ingestion only appends here, never updates a shared row;
-- workflow_log_rollup_fold() moves the deltas into the hourly and daily levels.
-- The bucket expression must agree with central_logger.metrics.histogram.bucket_sql.
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

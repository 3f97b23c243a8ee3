-- Moves every pending delta into the hourly and daily rollups, in one transaction:
-- each DELETE ... RETURNING feeds both upserts, so a delta is counted once or not at
-- all. Returns how many count deltas it moved. The service runs it in the background
-- under an advisory lock (metrics/repository.py, fold_pending_rollups); it states the
-- provider for itself (SET app.is_admin), since it moves every tenant's deltas.
CREATE OR REPLACE FUNCTION workflow_log_rollup_fold() RETURNS bigint
LANGUAGE sql SET app.is_admin = 'on' AS $$
    -- 1. Dimension rows. A moved row's counts ride on its first cell (or, with no
    -- buckets, on a cell of NULL bucket), so one grouping sums buckets and counts alike.
    WITH moved AS (DELETE FROM workflow_log_rollup_histogram_pending RETURNING *),
    moved_cells AS (
        SELECT moved.client_id, moved.hour, moved.dimension, moved.value,
               cell.bucket, cell.logs,
               CASE WHEN cell.i IS NULL OR cell.i = 1 THEN moved.runs ELSE 0 END AS runs,
               CASE WHEN cell.i IS NULL OR cell.i = 1 THEN moved.failed_runs ELSE 0 END
                   AS failed_runs,
               CASE WHEN cell.i IS NULL OR cell.i = 1 THEN moved.time_count ELSE 0 END
                   AS time_count,
               CASE WHEN cell.i IS NULL OR cell.i = 1 THEN moved.time_sum ELSE 0 END
                   AS time_sum
        FROM moved
        LEFT JOIN LATERAL unnest(moved.buckets, moved.logs) WITH ORDINALITY
            AS cell(bucket, logs, i) ON true
    ),
    hourly AS (
        INSERT INTO workflow_log_rollup_histogram_hourly AS stored (
            client_id, hour, dimension, value, buckets, logs,
            runs, failed_runs, time_count, time_sum)
        SELECT client_id, t, dimension, value,
               COALESCE(array_agg(bucket::smallint ORDER BY bucket)
                        FILTER (WHERE bucket IS NOT NULL), '{}'),
               COALESCE(array_agg(logs::bigint ORDER BY bucket)
                        FILTER (WHERE bucket IS NOT NULL), '{}'),
               sum(runs), sum(failed_runs), sum(time_count), sum(time_sum)
        FROM (
            SELECT client_id, hour AS t, dimension, value, bucket,
                   sum(logs) AS logs, sum(runs) AS runs, sum(failed_runs) AS failed_runs,
                   sum(time_count) AS time_count, sum(time_sum) AS time_sum
            FROM moved_cells GROUP BY 1, 2, 3, 4, 5
        ) AS cells
        GROUP BY client_id, t, dimension, value
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (client_id, dimension, hour, value)
        -- Merge the stored and the moved arrays bucket by bucket; add the counts.
        DO UPDATE SET (buckets, logs) = (
            SELECT COALESCE(array_agg(bucket ORDER BY bucket), '{}'),
                   COALESCE(array_agg(logs ORDER BY bucket), '{}')
            FROM (
                SELECT bucket, sum(logs)::bigint AS logs
                FROM unnest(stored.buckets || EXCLUDED.buckets, stored.logs || EXCLUDED.logs)
                    AS merged(bucket, logs)
                GROUP BY bucket
            ) AS summed
        ),
        runs = stored.runs + EXCLUDED.runs,
        failed_runs = stored.failed_runs + EXCLUDED.failed_runs,
        time_count = stored.time_count + EXCLUDED.time_count,
        time_sum = stored.time_sum + EXCLUDED.time_sum
        RETURNING 1
    ),
    daily AS (
        INSERT INTO workflow_log_rollup_histogram_daily AS stored (
            client_id, day, dimension, value, buckets, logs,
            runs, failed_runs, time_count, time_sum)
        SELECT client_id, t, dimension, value,
               COALESCE(array_agg(bucket::smallint ORDER BY bucket)
                        FILTER (WHERE bucket IS NOT NULL), '{}'),
               COALESCE(array_agg(logs::bigint ORDER BY bucket)
                        FILTER (WHERE bucket IS NOT NULL), '{}'),
               sum(runs), sum(failed_runs), sum(time_count), sum(time_sum)
        FROM (
            SELECT client_id, date_trunc('day', hour, 'UTC') AS t, dimension, value, bucket,
                   sum(logs) AS logs, sum(runs) AS runs, sum(failed_runs) AS failed_runs,
                   sum(time_count) AS time_count, sum(time_sum) AS time_sum
            FROM moved_cells GROUP BY 1, 2, 3, 4, 5
        ) AS cells
        GROUP BY client_id, t, dimension, value
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (client_id, dimension, day, value)
        DO UPDATE SET (buckets, logs) = (
            SELECT COALESCE(array_agg(bucket ORDER BY bucket), '{}'),
                   COALESCE(array_agg(logs ORDER BY bucket), '{}')
            FROM (
                SELECT bucket, sum(logs)::bigint AS logs
                FROM unnest(stored.buckets || EXCLUDED.buckets, stored.logs || EXCLUDED.logs)
                    AS merged(bucket, logs)
                GROUP BY bucket
            ) AS summed
        ),
        runs = stored.runs + EXCLUDED.runs,
        failed_runs = stored.failed_runs + EXCLUDED.failed_runs,
        time_count = stored.time_count + EXCLUDED.time_count,
        time_sum = stored.time_sum + EXCLUDED.time_sum
        RETURNING 1
    )
    SELECT 0 * (SELECT count(*) FROM hourly) + 0 * (SELECT count(*) FROM daily);

    -- 2. Count rows, per (client, hour or day, environment, category, status).
    WITH moved_counts AS (DELETE FROM workflow_log_rollup_pending RETURNING *),
    hourly AS (
        INSERT INTO workflow_log_rollup_hourly (
            client_id, hour, environment, category, status,
            runs, failed_runs, time_count, time_sum)
        SELECT client_id, hour, environment, category, status,
               sum(runs), sum(failed_runs), sum(time_count), sum(time_sum)
        FROM moved_counts
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (client_id, hour, environment, category, status)
        DO UPDATE SET runs = workflow_log_rollup_hourly.runs + EXCLUDED.runs,
            failed_runs = workflow_log_rollup_hourly.failed_runs + EXCLUDED.failed_runs,
            time_count = workflow_log_rollup_hourly.time_count + EXCLUDED.time_count,
            time_sum = workflow_log_rollup_hourly.time_sum + EXCLUDED.time_sum
        RETURNING 1
    ),
    daily AS (
        INSERT INTO workflow_log_rollup_daily (
            client_id, day, environment, category, status,
            runs, failed_runs, time_count, time_sum)
        SELECT client_id, date_trunc('day', hour, 'UTC'), environment, category, status,
               sum(runs), sum(failed_runs), sum(time_count), sum(time_sum)
        FROM moved_counts
        GROUP BY 1, 2, 3, 4, 5
        ORDER BY 1, 2, 3, 4, 5
        ON CONFLICT (client_id, day, environment, category, status)
        DO UPDATE SET runs = workflow_log_rollup_daily.runs + EXCLUDED.runs,
            failed_runs = workflow_log_rollup_daily.failed_runs + EXCLUDED.failed_runs,
            time_count = workflow_log_rollup_daily.time_count + EXCLUDED.time_count,
            time_sum = workflow_log_rollup_daily.time_sum + EXCLUDED.time_sum
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM moved_counts)
         + 0 * (SELECT count(*) FROM hourly) + 0 * (SELECT count(*) FROM daily)
$$;

-- The label values a tenant's logs use, for the dashboard's pick-lists
-- (GET /api/v1/logs/values; issue 14): called by the trigger workflow_logs_values once
-- per INSERT statement with every inserted row in `inserted_rows`. A value already
-- known costs an index probe and no write. Inserted in key order, so two statements
-- that bring the same new values at once wait on each other instead of deadlocking.
CREATE OR REPLACE FUNCTION workflow_logs_record_values() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO workflow_log_values (client_id, field, value)
    SELECT DISTINCT r.client_id, f.field, f.value
    FROM inserted_rows AS r
    CROSS JOIN LATERAL (VALUES ('environment', r.environment), ('status', r.status),
                               ('category', r.category),
                               ('workflow_version', r.workflow_version),
                               ('resolution_status', r.resolution_status)) AS f (field, value)
    WHERE f.value IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM workflow_log_values AS v
                      WHERE v.client_id = r.client_id AND v.field = f.field
                        AND v.value = f.value)
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

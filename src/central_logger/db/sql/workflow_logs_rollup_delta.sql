-- Once per INSERT statement (not per row), with every row it inserted: a batch of
-- thousands of logs costs one delta row per rollup key, not one per log.
CREATE TRIGGER workflow_logs_rollup_delta
AFTER INSERT ON workflow_logs
REFERENCING NEW TABLE AS inserted_rows
FOR EACH STATEMENT EXECUTE FUNCTION workflow_logs_record_rollup_delta();

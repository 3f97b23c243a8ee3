-- Once per INSERT statement, with every row it inserted: the label values it used.
CREATE TRIGGER workflow_logs_values
AFTER INSERT ON workflow_logs
REFERENCING NEW TABLE AS inserted_rows
FOR EACH STATEMENT EXECUTE FUNCTION workflow_logs_record_values();

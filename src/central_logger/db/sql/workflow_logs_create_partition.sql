-- Makes the partition of workflow_logs for one UTC day, unless it exists, and says
-- whether it made one. The service calls it ahead of time and the writer on demand
-- (a log for a day with no partition yet never fails); db/partitions.py names them.
-- SECURITY DEFINER: the service acts as a role that owns nothing (db/tenancy.py) and
-- only the table's owner may add a partition; this is the one such thing it may ask.
-- Made as a table, then attached: ATTACH PARTITION takes a lock on workflow_logs that
-- lets inserts and reads go on, where CREATE TABLE ... PARTITION OF would stop them.
-- An advisory lock serialises the callers that make one: every worker may ask for the
-- same new day at once.
CREATE OR REPLACE FUNCTION workflow_logs_create_partition(day date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    partition text := 'workflow_logs_p' || to_char(day, 'YYYYMMDD');
    low timestamptz := day::timestamp AT TIME ZONE 'UTC';
    attached boolean;
BEGIN
    -- The usual answer, "it exists", takes no lock.
    SELECT c.relispartition INTO attached FROM pg_class c
    WHERE c.oid = to_regclass(quote_ident(partition));
    IF attached THEN
        RETURN false;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('workflow_logs_create_partition'));
    SELECT c.relispartition INTO attached FROM pg_class c
    WHERE c.oid = to_regclass(quote_ident(partition));
    IF attached THEN
        RETURN false;
    ELSIF attached IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_in_use',
            MESSAGE = 'partition ' || partition || ' is being dropped by retention';
    END IF;
    EXECUTE 'CREATE TABLE ' || quote_ident(partition)
        || ' (LIKE workflow_logs INCLUDING DEFAULTS INCLUDING COMPRESSION)';
    -- With lz4 payloads (db/tables.py, LZ4_COLUMNS), ~1 KB payloads compress inline.
    IF EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = 'workflow_logs'::regclass AND attname = 'payload'
                 AND attcompression = 'l') THEN
        EXECUTE 'ALTER TABLE ' || quote_ident(partition) || ' SET (toast_tuple_target = 512)';
    END IF;
    -- The parent's policy (db/sql/tenant_isolation.sql) guards every query through
    -- workflow_logs; this copy guards the partition read by its own name.
    EXECUTE 'ALTER TABLE ' || quote_ident(partition) || ' ENABLE ROW LEVEL SECURITY';
    EXECUTE 'ALTER TABLE ' || quote_ident(partition) || ' FORCE ROW LEVEL SECURITY';
    EXECUTE 'CREATE POLICY tenant_isolation ON ' || quote_ident(partition)
        || ' USING (client_id = current_setting(''app.client_id'', true)'
        || ' OR current_setting(''app.is_admin'', true) = ''on'')'
        || ' WITH CHECK (client_id = current_setting(''app.client_id'', true)'
        || ' OR current_setting(''app.is_admin'', true) = ''on'')';
    EXECUTE 'ALTER TABLE workflow_logs ATTACH PARTITION ' || quote_ident(partition)
        || ' FOR VALUES FROM (' || quote_literal(low) || ') TO ('
        || quote_literal(low + interval '1 day') || ')';
    RETURN true;
END
$$;

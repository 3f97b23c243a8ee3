"""time partitions: workflow_logs partitioned by day, ids unique per tenant in
workflow_log_ids

Revision ID: 20261129_time_partitions
Revises: 20261128_admin_scope
Create Date: 2026-11-29

workflow_logs becomes a table partitioned by day of executed_at (db/tables.py), so
that old days leave by dropping a table and a day's indexes are the ones that grow.
A partitioned table's unique keys must hold the partition key, so "an id is unique per
tenant" moves to workflow_log_ids, one row per log.

Existing logs are copied, in place, into daily partitions, then the indexes are built
(one sorted build per partition, faster than maintaining them row by row). The rollups
are not touched: the trigger is attached to the new table after the copy, so nothing
is counted twice. Measured: docs/performance.md, "Time partitions". The service is
stopped while this runs (every service process migrates at start, under the migration
lock); docs/retention.md says how long to expect.

The function and trigger texts are frozen copies of db/sql/ as of this revision.
"""

from __future__ import annotations

from alembic import op

from central_logger.db.tenancy import tenant_policy_sql

revision = "20261129_time_partitions"
down_revision = "20261128_admin_scope"
branch_labels = None
depends_on = None

_COLUMNS = (
    "id, client_id, environment, workflow_version, ticket_id, executed_at, "
    "execution_time_seconds, status, category, resolution_status, metrics, payload, created_at"
)

_TABLE = """
    CREATE TABLE workflow_logs (
        id uuid NOT NULL,
        client_id text NOT NULL,
        environment text NOT NULL,
        workflow_version text,
        ticket_id text,
        executed_at timestamptz NOT NULL,
        execution_time_seconds double precision,
        status text NOT NULL,
        category text,
        resolution_status text,
        metrics jsonb,
        payload jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
    ) PARTITION BY RANGE (executed_at)
"""

_LZ4 = """
    DO $$
    BEGIN
        ALTER TABLE workflow_logs ALTER COLUMN metrics SET COMPRESSION lz4;
        ALTER TABLE workflow_logs ALTER COLUMN payload SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported THEN
        RAISE NOTICE 'lz4 not available, payloads use the default compression';
    END $$
"""

_INDEXES = (
    "CREATE INDEX ix_workflow_logs_client_executed ON workflow_logs"
    " (client_id, executed_at DESC, id DESC)"
    " INCLUDE (status, execution_time_seconds, category, environment)",
    "CREATE INDEX ix_workflow_logs_executed ON workflow_logs (executed_at DESC, id DESC)",
    "CREATE INDEX ix_workflow_logs_client_status ON workflow_logs"
    " (client_id, status, executed_at DESC, id DESC)"
    " INCLUDE (environment, category, execution_time_seconds)",
    "CREATE INDEX ix_workflow_logs_client_category ON workflow_logs"
    " (client_id, category, executed_at DESC, id DESC)"
    " INCLUDE (environment, status, execution_time_seconds)",
    "CREATE INDEX ix_workflow_logs_client_ticket ON workflow_logs (client_id, ticket_id)"
    " WHERE ticket_id IS NOT NULL",
)

_OLD_INDEXES = (
    "ix_workflow_logs_client_executed",
    "ix_workflow_logs_executed",
    "ix_workflow_logs_client_status",
    "ix_workflow_logs_client_category",
    "ix_workflow_logs_client_ticket",
)

_CREATE_PARTITION = r"""
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
"""

_TRIGGER = """
-- Once per INSERT statement (not per row), with every row it inserted: a batch of
-- thousands of logs costs one delta row per rollup key, not one per log.
CREATE TRIGGER workflow_logs_rollup_delta
AFTER INSERT ON workflow_logs
REFERENCING NEW TABLE AS inserted_rows
FOR EACH STATEMENT EXECUTE FUNCTION workflow_logs_record_rollup_delta();
"""


def upgrade() -> None:
    # The old table is under FORCE row-level security: copy it as the provider.
    op.execute("SELECT set_config('app.is_admin', 'on', true)")
    op.execute("DROP TRIGGER workflow_logs_rollup_delta ON workflow_logs")
    op.execute("ALTER TABLE workflow_logs RENAME TO workflow_logs_unpartitioned")
    op.execute("ALTER TABLE workflow_logs_unpartitioned DROP CONSTRAINT pk_workflow_logs")
    for name in _OLD_INDEXES:
        op.execute(f"DROP INDEX {name}")

    op.execute(_TABLE)
    op.execute(_LZ4)
    op.execute(
        "CREATE TABLE workflow_log_ids (id uuid NOT NULL, client_id text NOT NULL,"
        " executed_at timestamptz NOT NULL,"
        " CONSTRAINT pk_workflow_log_ids PRIMARY KEY (id, client_id))"
    )
    op.execute(
        "INSERT INTO workflow_log_ids (id, client_id, executed_at)"
        " SELECT id, client_id, executed_at FROM workflow_logs_unpartitioned"
    )
    op.execute(_CREATE_PARTITION)
    # A partition for every day that holds logs, and for yesterday to a week ahead.
    op.execute(
        """
        SELECT workflow_logs_create_partition(day) FROM (
            SELECT DISTINCT (executed_at AT TIME ZONE 'UTC')::date AS day
            FROM workflow_logs_unpartitioned
            UNION
            SELECT generate_series(current_date - 1, current_date + 7, interval '1 day')::date
        ) AS days ORDER BY day
        """
    )
    op.execute(
        f"INSERT INTO workflow_logs ({_COLUMNS}) SELECT {_COLUMNS} FROM workflow_logs_unpartitioned"
    )
    op.execute("DROP TABLE workflow_logs_unpartitioned")
    for statement in _INDEXES:
        op.execute(statement)
    op.execute(_TRIGGER)
    for table in ("workflow_logs", "workflow_log_ids"):
        for statement in tenant_policy_sql(table):
            op.execute(statement)


def downgrade() -> None:
    op.execute("SELECT set_config('app.is_admin', 'on', true)")
    op.execute("ALTER TABLE workflow_logs RENAME TO workflow_logs_partitioned")
    for name in _OLD_INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_partitioned")
    op.execute(_TABLE.replace(" PARTITION BY RANGE (executed_at)", ""))
    op.execute(_LZ4)
    op.execute(
        f"INSERT INTO workflow_logs ({_COLUMNS}) SELECT {_COLUMNS} FROM workflow_logs_partitioned"
    )
    op.execute("DROP TABLE workflow_logs_partitioned")
    op.execute("DROP TABLE workflow_log_ids")
    op.execute("DROP FUNCTION workflow_logs_create_partition(date)")
    op.execute(
        "ALTER TABLE workflow_logs ADD CONSTRAINT pk_workflow_logs PRIMARY KEY (id, client_id)"
    )
    for statement in _INDEXES:
        op.execute(statement)
    op.execute(_TRIGGER)
    op.execute(
        "DO $$ BEGIN ALTER TABLE workflow_logs SET (toast_tuple_target = 512);"
        " PERFORM 1 FROM pg_attribute WHERE attrelid = 'workflow_logs'::regclass"
        " AND attname = 'payload' AND attcompression <> 'l';"
        " IF FOUND THEN ALTER TABLE workflow_logs RESET (toast_tuple_target); END IF; END $$"
    )
    for statement in tenant_policy_sql("workflow_logs"):
        op.execute(statement)

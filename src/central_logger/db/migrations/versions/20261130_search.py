"""search: a full-text index over a log's words, and ticket ids by prefix

Revision ID: 20261130_search
Revises: 20261130_otlp_detail
Create Date: 2026-11-30

`q` on the log list (issue 14) finds ticket ids by prefix, case-insensitively, and
words of error messages, step names and payload text. Two indexes on the partitioned
workflow_logs, so every existing day's partition gets them now and every partition
made later gets them when it is attached (workflow_logs_create_partition):

- ix_workflow_logs_search: GIN over workflow_log_search_document(), a tsvector of the
  ticket id, category and the payload's string values ('simple' configuration).
  Full-text rather than trigram: measured side by side in docs/performance.md,
  "Search"; and built in, so no CREATE EXTENSION for the service's roles.
- ix_workflow_logs_client_ticket_prefix: (client_id, lower(ticket_id) text_pattern_ops).

And the pick-lists' values (GET /api/v1/logs/values): workflow_log_values, every label
value (environment, status, category, workflow_version, resolution_status) a tenant's
logs use, kept by the statement trigger workflow_logs_values, filled here from the
stored logs, under the tenant_isolation policy.

Building them reads every stored log once; on a large store run the migration in a
quiet hour (docs/performance.md gives the time per million logs).
"""

from __future__ import annotations

from alembic import op

revision = "20261130_search"
down_revision = "20261130_otlp_detail"
branch_labels = None
depends_on = None

# Frozen copy of db/sql/workflow_log_search_document.sql at this revision.
_SEARCH_DOCUMENT_FUNCTION = """
CREATE OR REPLACE FUNCTION workflow_log_search_document(
    ticket_id text, category text, payload jsonb
) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 10000 AS $$
BEGIN
    RETURN to_tsvector('simple'::regconfig,
                       COALESCE(ticket_id, '') || ' ' || COALESCE(category, ''))
        || CASE WHEN octet_length(COALESCE(payload, '{}'::jsonb)::text) <= 200000
           THEN jsonb_to_tsvector('simple'::regconfig, COALESCE(payload, '{}'::jsonb),
                                  '["string"]'::jsonb)
           ELSE to_tsvector('simple'::regconfig, left(payload::text, 100000))
           END;
END
$$
"""


# Frozen copies of db/sql/workflow_logs_record_values.sql and workflow_logs_values.sql.
_RECORD_VALUES_FUNCTION = """
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
$$
"""
_VALUES_TRIGGER = """
CREATE TRIGGER workflow_logs_values
AFTER INSERT ON workflow_logs
REFERENCING NEW TABLE AS inserted_rows
FOR EACH STATEMENT EXECUTE FUNCTION workflow_logs_record_values()
"""
_TENANT_ISOLATION = """
ALTER TABLE workflow_log_values ENABLE ROW LEVEL SECURITY;
ALTER TABLE workflow_log_values FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON workflow_log_values
    USING (client_id = current_setting('app.client_id', true)
           OR current_setting('app.is_admin', true) = 'on')
    WITH CHECK (client_id = current_setting('app.client_id', true)
                OR current_setting('app.is_admin', true) = 'on')
"""


# Frozen copy of db/sql/workflow_log_search_leakproof.sql: under row-level security
# only LEAKPROOF functions may lead an index scan; marking them takes a superuser.
_LEAKPROOF_WORD_MATCH = """
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF;
        ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF;
        ALTER FUNCTION workflow_log_search_document(text, text, jsonb) LEAKPROOF;
    ELSE
        RAISE WARNING 'search by words cannot use its index under row-level security until'
            ' a superuser runs: ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery)'
            ' LEAKPROOF; ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF;'
            ' ALTER FUNCTION workflow_log_search_document(text, text, jsonb) LEAKPROOF';
    END IF;
END
$$
"""


def upgrade() -> None:
    op.execute(
        "CREATE TABLE workflow_log_values (client_id text NOT NULL, field text NOT NULL,"
        " value text NOT NULL,"
        " CONSTRAINT pk_workflow_log_values PRIMARY KEY (client_id, field, value))"
    )
    op.execute(_TENANT_ISOLATION)
    op.execute(
        "INSERT INTO workflow_log_values (client_id, field, value)"
        " SELECT DISTINCT client_id, f.field, f.value FROM workflow_logs"
        " CROSS JOIN LATERAL (VALUES ('environment', environment), ('status', status),"
        " ('category', category), ('workflow_version', workflow_version),"
        " ('resolution_status', resolution_status)) AS f (field, value)"
        " WHERE f.value IS NOT NULL"
    )
    op.execute(_RECORD_VALUES_FUNCTION)
    op.execute(_VALUES_TRIGGER)
    op.execute(_SEARCH_DOCUMENT_FUNCTION)
    op.execute(_LEAKPROOF_WORD_MATCH)
    op.execute(
        "CREATE INDEX ix_workflow_logs_search ON workflow_logs"
        " USING gin (workflow_log_search_document(ticket_id, category, payload))"
        " WITH (fastupdate = off)"
    )
    op.execute(
        "CREATE INDEX ix_workflow_logs_client_ticket_prefix ON workflow_logs"
        " (client_id, lower(ticket_id) text_pattern_ops)"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER workflow_logs_values ON workflow_logs")
    op.execute("DROP FUNCTION workflow_logs_record_values()")
    op.execute("DROP TABLE workflow_log_values")
    op.execute("DROP INDEX ix_workflow_logs_client_ticket_prefix")
    op.execute("DROP INDEX ix_workflow_logs_search")
    op.execute("DROP FUNCTION workflow_log_search_document(text, text, jsonb)")

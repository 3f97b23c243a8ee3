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
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('simple'::regconfig,
                       COALESCE(ticket_id, '') || ' ' || COALESCE(category, ''))
        || CASE WHEN octet_length(COALESCE(payload, '{}'::jsonb)::text) <= 200000
           THEN jsonb_to_tsvector('simple'::regconfig, COALESCE(payload, '{}'::jsonb),
                                  '["string"]'::jsonb)
           ELSE to_tsvector('simple'::regconfig, left(payload::text, 100000))
           END
$$
"""


def upgrade() -> None:
    op.execute(_SEARCH_DOCUMENT_FUNCTION)
    op.execute(
        "CREATE INDEX ix_workflow_logs_search ON workflow_logs"
        " USING gin (workflow_log_search_document(ticket_id, category, payload))"
    )
    op.execute(
        "CREATE INDEX ix_workflow_logs_client_ticket_prefix ON workflow_logs"
        " (client_id, lower(ticket_id) text_pattern_ops)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_workflow_logs_client_ticket_prefix")
    op.execute("DROP INDEX ix_workflow_logs_search")
    op.execute("DROP FUNCTION workflow_log_search_document(text, text, jsonb)")

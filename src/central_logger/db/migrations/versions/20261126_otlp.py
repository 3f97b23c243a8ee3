"""otlp_spans: OpenTelemetry spans staged until their trace's log is whole

Revision ID: 20261126_otlp
Revises: 20261126_trust
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

from central_logger.db.tenancy import tenant_policy_sql

revision = "20261126_otlp"
down_revision = "20261126_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE otlp_spans (
            client_id text NOT NULL,
            trace_id text NOT NULL,
            span_id text NOT NULL,
            parent_span_id text,
            name text NOT NULL,
            start_unix_nano bigint NOT NULL,
            end_unix_nano bigint NOT NULL,
            status_code integer NOT NULL,
            status_message text NOT NULL,
            attributes jsonb NOT NULL,
            resource jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_otlp_spans PRIMARY KEY (client_id, trace_id, span_id)
        )
        """
    )
    op.execute("CREATE INDEX ix_otlp_spans_received ON otlp_spans (received_at)")
    for statement in tenant_policy_sql("otlp_spans"):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE otlp_spans")

"""workflow_logs and api_keys

Revision ID: 20261126_initial
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261126_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_logs",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("environment", sa.Text(), nullable=False),
        sa.Column("workflow_version", sa.Text()),
        sa.Column("ticket_id", sa.Text()),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("execution_time_seconds", sa.Float()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("category", sa.Text()),
        sa.Column("resolution_status", sa.Text()),
        sa.Column("metrics", postgresql.JSONB()),
        sa.Column("payload", postgresql.JSONB()),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", "client_id", name="pk_workflow_logs"),
    )
    op.execute(
        "CREATE INDEX ix_workflow_logs_client_executed ON workflow_logs "
        "(client_id, executed_at DESC, id DESC) "
        "INCLUDE (status, execution_time_seconds, category, environment)"
    )
    op.execute(
        "CREATE INDEX ix_workflow_logs_executed ON workflow_logs (executed_at DESC, id DESC)"
    )
    op.execute(
        "CREATE INDEX ix_workflow_logs_client_status ON workflow_logs "
        "(client_id, status, executed_at DESC)"
    )
    op.execute(
        "CREATE INDEX ix_workflow_logs_client_category ON workflow_logs "
        "(client_id, category, executed_at DESC)"
    )
    op.execute(
        "CREATE INDEX ix_workflow_logs_client_ticket ON workflow_logs (client_id, ticket_id) "
        "WHERE ticket_id IS NOT NULL"
    )
    # lz4 compresses payloads faster than the default pglz; not every server is built with it.
    op.execute(
        """
        DO $$
        BEGIN
            ALTER TABLE workflow_logs ALTER COLUMN payload SET COMPRESSION lz4;
            ALTER TABLE workflow_logs ALTER COLUMN metrics SET COMPRESSION lz4;
        EXCEPTION WHEN feature_not_supported THEN
            RAISE NOTICE 'lz4 not available, payloads use the default compression';
        END
        $$;
        """
    )

    op.create_table(
        "api_keys",
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("prefix", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("workflow_logs")

"""retention policies: a tenant's own retention of logs and rollups

Revision ID: 20261129_retention_policies
Revises: 20261129_time_partitions
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "20261129_retention_policies"
down_revision = "20261129_time_partitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE retention_policies (
            client_id text NOT NULL,
            logs_days integer NOT NULL,
            rollup_days integer,
            updated_at timestamptz NOT NULL DEFAULT now(),
            updated_by text,
            CONSTRAINT pk_retention_policies PRIMARY KEY (client_id),
            CONSTRAINT ck_retention_policies_logs_days_positive CHECK (logs_days > 0),
            CONSTRAINT ck_retention_policies_rollups_outlive_logs
                CHECK (rollup_days IS NULL OR rollup_days >= logs_days)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE retention_policies")

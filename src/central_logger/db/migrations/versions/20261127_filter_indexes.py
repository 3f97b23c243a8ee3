"""covering filter indexes: status and category indexes in keyset order, with the
other filter columns included

Revision ID: 20261127_filter_indexes
Revises: 20261127_histograms
Create Date: 2026-11-27

A page filtered by status and environment, and its bounded count, read the status
index and then each row's heap page to check the environment: ~4 ms for the count
of one client's failed production runs at 1M logs. With `id` in the key (the keyset
order) and environment, category/status and duration included, both are index-only.
"""

from __future__ import annotations

from alembic import op

revision = "20261127_filter_indexes"
down_revision = "20261127_histograms"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_workflow_logs_client_status": (
        "(client_id, status, executed_at DESC, id DESC) "
        "INCLUDE (environment, category, execution_time_seconds)",
        "(client_id, status, executed_at DESC)",
    ),
    "ix_workflow_logs_client_category": (
        "(client_id, category, executed_at DESC, id DESC) "
        "INCLUDE (environment, status, execution_time_seconds)",
        "(client_id, category, executed_at DESC)",
    ),
}


def upgrade() -> None:
    for name, (columns, _) in _INDEXES.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON workflow_logs {columns}")


def downgrade() -> None:
    for name, (_, columns) in _INDEXES.items():
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON workflow_logs {columns}")

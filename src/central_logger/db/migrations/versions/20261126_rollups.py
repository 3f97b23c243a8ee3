"""metrics rollups (filled in by the performance work)

Revision ID: 20261126_rollups
Revises: 20261126_initial
Create Date: 2026-11-26
"""

from __future__ import annotations

revision = "20261126_rollups"
down_revision = "20261126_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

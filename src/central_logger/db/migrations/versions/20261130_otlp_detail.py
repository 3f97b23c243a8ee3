"""otlp detail: staged spans keep their kind, flags, scope, events and links

Revision ID: 20261130_otlp_detail
Revises: 20261130_version_rollups
Create Date: 2026-11-30

A trace's log kept each span's attributes and status only; now it keeps what else an
SDK sends that a user looks for (issue 14): the span kind, Span.flags (whether the
parent is remote: such a span is the root of its trace here), the instrumentation
scope, events (exceptions with their stack traces) and links. Spans staged before
this revision read as kind 0 (unspecified), no flags, no scope, events or links.
"""

from __future__ import annotations

from alembic import op

revision = "20261130_otlp_detail"
down_revision = "20261130_alerts"
branch_labels = None
depends_on = None

_COLUMNS = {
    "kind": "smallint NOT NULL DEFAULT 0",
    "flags": "bigint NOT NULL DEFAULT 0",
    "scope": "jsonb NOT NULL DEFAULT '{}'::jsonb",
    "events": "jsonb NOT NULL DEFAULT '[]'::jsonb",
    "links": "jsonb NOT NULL DEFAULT '[]'::jsonb",
}


def upgrade() -> None:
    op.execute(
        "ALTER TABLE otlp_spans "
        + ", ".join(f"ADD COLUMN {name} {kind}" for name, kind in _COLUMNS.items())
    )


def downgrade() -> None:
    op.execute("ALTER TABLE otlp_spans " + ", ".join(f"DROP COLUMN {name}" for name in _COLUMNS))

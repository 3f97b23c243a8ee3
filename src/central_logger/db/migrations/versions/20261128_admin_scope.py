"""api_keys.is_admin is derived from the admin scope

Revision ID: 20261128_admin_scope
Revises: 20261128_dimension_counts
Create Date: 2026-11-28

Authentication read the scopes, the inventory read is_admin, and nothing kept them in
step: a key made with the admin scope but without --admin was listed as a tenant key
and acted as a provider key. The admin scope is now the one source of truth and
is_admin a generated column of it, so the two can never disagree again.

Existing rows keep exactly the powers they had, since authentication has always read
the scopes; only the listing changes to tell the truth: a key that carried the admin
scope is now listed as admin, and a row marked is_admin without the admin scope (which
no version of create_key made, and which authenticated as a tenant key) as a tenant key.
"""

from __future__ import annotations

from alembic import op

revision = "20261128_admin_scope"
down_revision = "20261128_dimension_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE api_keys DROP COLUMN is_admin")
    op.execute(
        "ALTER TABLE api_keys ADD COLUMN is_admin boolean NOT NULL"
        " GENERATED ALWAYS AS ('admin' = ANY (scopes)) STORED"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE api_keys RENAME COLUMN is_admin TO is_admin_generated")
    op.execute("ALTER TABLE api_keys ADD COLUMN is_admin boolean NOT NULL DEFAULT false")
    op.execute("UPDATE api_keys SET is_admin = is_admin_generated")
    op.execute("ALTER TABLE api_keys DROP COLUMN is_admin_generated")

"""trust: audit_events, a non-bypass application role, tenant row-level security

Revision ID: 20261126_trust
Revises: 20261126_rollups
Create Date: 2026-11-26

The service's connections SET ROLE to central_logger_app (DB_ROLE), which owns
nothing and does not bypass row-level security. Creating the role needs CREATEROLE;
where the migrating user lacks it, a DBA creates it (docs/security.md) and this
migration only reports that.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from central_logger.db.tenancy import (
    APP_ROLE,
    TENANT_TABLE_PREFIX,
    TENANT_TABLES,
    tenant_policy_sql,
)

revision = "20261126_trust"
down_revision = "20261126_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text()),
        sa.Column("client_id", sa.Text()),
        sa.Column("remote_addr", sa.Text()),
        sa.Column("count", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("detail", postgresql.JSONB()),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.execute("CREATE INDEX ix_audit_events_occurred ON audit_events (occurred_at DESC, id DESC)")

    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
            END IF;
        EXCEPTION
            WHEN duplicate_object THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'cannot create role {APP_ROLE}; a DBA must (docs/security.md)';
        END
        $$
        """
    )
    op.execute(
        f"""
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                    EXECUTE format('GRANT {APP_ROLE} TO %I', current_user);
                END IF;
                GRANT USAGE ON SCHEMA public TO {APP_ROLE};
                GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public
                    TO {APP_ROLE};
                GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
                GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {APP_ROLE};
                ALTER DEFAULT PRIVILEGES IN SCHEMA public
                    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
                ALTER DEFAULT PRIVILEGES IN SCHEMA public
                    GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE};
            END IF;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'cannot grant to {APP_ROLE}; a DBA must (docs/security.md)';
        END
        $$
        """
    )

    tables = list(TENANT_TABLES)
    bind = op.get_bind()
    tables += [
        row[0]
        for row in bind.execute(
            sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename LIKE :prefix ORDER BY tablename"
            ),
            {"prefix": TENANT_TABLE_PREFIX + "%"},
        )
    ]
    for table in tables:
        for statement in tenant_policy_sql(table):
            op.execute(statement)
    # The rollup fold moves every tenant's pending deltas: it states admin for itself
    # (a function-level SET), so the background task needs no tenant of its own.
    op.execute(
        """
        DO $$
        BEGIN
            IF to_regprocedure('workflow_log_rollup_fold()') IS NOT NULL THEN
                ALTER FUNCTION workflow_log_rollup_fold() SET app.is_admin = 'on';
            END IF;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF to_regprocedure('workflow_log_rollup_fold()') IS NOT NULL THEN
                ALTER FUNCTION workflow_log_rollup_fold() RESET app.is_admin;
            END IF;
        END
        $$
        """
    )
    bind = op.get_bind()
    for (table,) in bind.execute(
        sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relrowsecurity"
        )
    ):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.drop_table("audit_events")

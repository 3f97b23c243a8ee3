"""Every table, as SQLAlchemy Core. Migrations are the source of truth for DDL; these
definitions are what queries are written against."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    Float,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

# Stable constraint names, so migrations can refer to them.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

workflow_logs = Table(
    "workflow_logs",
    metadata,
    Column("id", UUID(as_uuid=True), nullable=False),
    Column("client_id", Text, nullable=False),
    Column("environment", Text, nullable=False),
    Column("workflow_version", Text),
    Column("ticket_id", Text),
    Column("executed_at", DateTime(timezone=True), nullable=False),
    Column("execution_time_seconds", Float),
    Column("status", Text, nullable=False),
    Column("category", Text),
    Column("resolution_status", Text),
    Column("metrics", JSONB),
    Column("payload", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The id is the client's idempotency key, unique per tenant: a tenant can never
    # learn that another tenant used the same id.
    PrimaryKeyConstraint("id", "client_id"),
    # Newest-first listing and the metrics scans; INCLUDE makes the metrics an
    # index-only scan (rows are wide: each matching row would be its own page read).
    Index(
        "ix_workflow_logs_client_executed",
        "client_id",
        text("executed_at DESC"),
        text("id DESC"),
        postgresql_include=["status", "execution_time_seconds", "category", "environment"],
    ),
    # The admin's all-clients listing.
    Index("ix_workflow_logs_executed", text("executed_at DESC"), text("id DESC")),
    # Filtered listings in keyset order; the other filter columns are included, so a
    # status + environment page and its bounded count read no heap to filter.
    Index(
        "ix_workflow_logs_client_status",
        "client_id",
        "status",
        text("executed_at DESC"),
        text("id DESC"),
        postgresql_include=["environment", "category", "execution_time_seconds"],
    ),
    Index(
        "ix_workflow_logs_client_category",
        "client_id",
        "category",
        text("executed_at DESC"),
        text("id DESC"),
        postgresql_include=["environment", "status", "execution_time_seconds"],
    ),
    Index(
        "ix_workflow_logs_client_ticket",
        "client_id",
        "ticket_id",
        postgresql_where=text("ticket_id IS NOT NULL"),
    ),
)

api_keys = Table(
    "api_keys",
    metadata,
    # The public, recognisable part of the key ("cl_" + 8 characters); safe to log.
    Column("prefix", Text, primary_key=True),
    # SHA-256 of the whole key: keys carry 256 bits of entropy, so a slow hash buys nothing.
    Column("key_hash", LargeBinary, nullable=False, unique=True),
    Column("client_id", Text, nullable=False),
    Column("name", Text),
    Column("scopes", ARRAY(Text), nullable=False),
    # Derived by PostgreSQL from the admin scope, the one source of truth for admin-ness.
    Column("is_admin", Boolean, Computed("'admin' = ANY (scopes)", persisted=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_used_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
)

# The provider's trail: failed authentications (aggregated per minute and key prefix),
# key changes, admin cross-tenant reads. Never a key, only its public prefix.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("kind", Text, nullable=False),
    Column("actor", Text),
    Column("client_id", Text),
    Column("remote_addr", Text),
    Column("count", Integer, nullable=False, server_default=text("1")),
    Column("detail", JSONB),
)

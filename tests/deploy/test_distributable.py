"""The schema stays distributable by client_id (Citus; docs/scaling.md): every tenant
table has a NOT NULL client_id in its primary key and in every unique constraint or
index, so each row's shard is its tenant's and a uniqueness check never spans shards.
Read-only: it inspects the migrated schema of the test database.

The exceptions are named, with the plan for each: a new table is a tenant table unless
it is added here with a reason."""

from __future__ import annotations

import psycopg

# Tables that would not be distributed, and why (docs/scaling.md, "Citus").
NOT_DISTRIBUTED = {
    # Looked up by key hash before the tenant is known: a reference table (copied to
    # every node), small and rarely written.
    "api_keys": "reference table",
    # Failed authentications have no tenant (client_id NULL): stays on the coordinator.
    "audit_events": "coordinator-local table",
    "alembic_version": "migration bookkeeping",
    # Alerting (docs/alerts.md): a provider's rule and channels belong to no one tenant
    # (client_id NULL: every client), and a cycle reads every rule and state at once
    # under one lock. Small, written by the one evaluator: coordinator-local tables.
    "alert_rules": "coordinator-local table",
    "alert_channels": "coordinator-local table",
    "alert_rule_channels": "coordinator-local table",
    "alert_states": "coordinator-local table",
    "alert_events": "coordinator-local table",
    "alert_outbox": "coordinator-local table",
    "alert_delivery_attempts": "coordinator-local table",
}

_TABLES = """
SELECT c.relname,
       a.attnum IS NOT NULL AS has_client_id,
       coalesce(a.attnotnull, false) AS client_id_not_null
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a
  ON a.attrelid = c.oid AND a.attname = 'client_id' AND NOT a.attisdropped
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""

# Every unique index (primary keys and unique constraints are backed by one), with
# whether client_id is among its key columns.
_UNIQUE = """
SELECT c.relname, i.indexrelid::regclass::text,
       EXISTS (
         SELECT 1 FROM pg_attribute a
         WHERE a.attrelid = c.oid AND a.attname = 'client_id'
           AND a.attnum = ANY (i.indkey::int2[])
       ) AS includes_client_id
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND (i.indisunique OR i.indisprimary) AND NOT c.relispartition
"""


def test_every_tenant_table_is_keyed_by_client_id(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(_TABLES).fetchall()
        unique = conn.execute(_UNIQUE).fetchall()
    tenant_tables = {name for name, *_ in tables} - set(NOT_DISTRIBUTED)
    assert tenant_tables, "no tenant table found: is this the migrated schema?"
    assert "workflow_logs" in tenant_tables
    problems = []
    for name, has_client_id, not_null in tables:
        if name in NOT_DISTRIBUTED:
            continue
        if not has_client_id:
            problems.append(f"{name}: no client_id column")
        elif not not_null:
            problems.append(f"{name}: client_id may be NULL")
    for table, index, includes in unique:
        if table in tenant_tables and not includes:
            problems.append(f"{table}: unique index {index} does not include client_id")
    assert not problems, problems


def test_the_exceptions_are_still_exceptions(database_url: str) -> None:
    """A named exception that has become distributable (or is gone) leaves the list."""
    with psycopg.connect(database_url) as conn:
        present = {name for name, *_ in conn.execute(_TABLES).fetchall()}
        unique = conn.execute(_UNIQUE).fetchall()
    assert set(NOT_DISTRIBUTED) <= present
    keyed_elsewhere = {table for table, _, includes in unique if not includes}
    assert {"api_keys", "audit_events"} <= keyed_elsewhere

"""Which tenant a transaction speaks for, as PostgreSQL row-level security reads it.

Every tenant table (`definitions.TENANT_ISOLATED`) carries the policy of
`db/sql/tenant_isolation.sql`:

    client_id = current_setting('app.client_id', true)
    OR current_setting('app.is_admin', true) = 'on'

and the service's connections act as a role that does not bypass it, so a query that
forgets its tenant filter still sees only the stated tenant's rows. A transaction
that states nothing sees no tenant rows at all.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

APP_ROLE = "central_logger_app"
# The tenant tables as the trust migration (20261126_trust) found them, which reads
# these two: the rollup tables then matched the prefix. The list of today is
# definitions.TENANT_ISOLATED.
TENANT_TABLES = ("workflow_logs",)
TENANT_TABLE_PREFIX = "workflow_log_rollup"

# One statement, transaction-local (is_local = true): it ends with the transaction,
# so a pooled connection never carries one request's tenant into the next.
_STATE = (
    "SELECT set_config('app.client_id', %(client_id)s, true),"
    " set_config('app.is_admin', %(is_admin)s, true)"
)


async def state_tenant(conn: AsyncConnection, client_id: str | None) -> None:
    """State the tenant of the current transaction; None states the provider (admin).

    Sent on the driver's connection in a pipeline: psycopg opens a transaction with a
    `BEGIN` of its own, and pipelined the two cost one round trip instead of two."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    async with driver.pipeline():
        await driver.execute(
            _STATE,
            {"client_id": client_id or "", "is_admin": "on" if client_id is None else "off"},
        )


def tenant_policy_sql(table: str) -> list[str]:
    """The statements that put `table` under tenant row-level security, as the
    migrations of 2026-11-26/27 (trust, otlp, histograms) ran them: frozen here so that
    those migrations build the same database whatever the policy becomes. Never edit;
    the policy of today is db/sql/tenant_isolation.sql (test_schema_source checks that
    both agree while they should), and a change to it is a new migration."""
    condition = (
        "client_id = current_setting('app.client_id', true)"
        " OR current_setting('app.is_admin', true) = 'on'"
    )
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})",
    ]


async def tenants_in_table(conn: AsyncConnection, table: str) -> list[str]:
    """The distinct client_ids of `table` by a loose index scan: one index probe per
    tenant, not one per row (the table needs an index that leads with client_id).
    `table` is a name from the schema or the catalog, never from a request. Text: a
    recursive CTE with LIMITed scalar subqueries reads as the plan it is."""
    result = await conn.execute(
        text(
            f"""
            WITH RECURSIVE tenants(client_id) AS (
                (SELECT client_id FROM {table} ORDER BY client_id LIMIT 1)
                UNION ALL
                SELECT (SELECT t2.client_id FROM {table} t2
                        WHERE t2.client_id > t.client_id ORDER BY t2.client_id LIMIT 1)
                FROM tenants t WHERE t.client_id IS NOT NULL
            )
            SELECT client_id FROM tenants WHERE client_id IS NOT NULL
            """  # noqa: S608 - a schema or catalog name, never a request's
        )
    )
    return list(result.scalars())

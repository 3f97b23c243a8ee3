"""The schema's functions, triggers and row-level security policies: named definitions,
each one `.sql` file in `db/sql/`, read by its name.

`db/tables.py` holds the tables and indexes; together they are the whole schema, and
`build_from_source` makes a database from them alone. `tests/api/test_schema_source.py`
compares such a database with a migrated one, catalog entry by catalog entry.

Migrations do not load these files: a migration carries a frozen copy of what it
creates, so replaying history always builds the same database. To change a
definition, edit its file here and add a migration with the new text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from central_logger.db import tables

SQL_DIR = Path(__file__).with_name("sql")


def load(name: str) -> str:
    """The text of `db/sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text()


@dataclass(frozen=True, slots=True)
class Trigger:
    name: str
    table: str


# In the order they must be created: a trigger after its function.
FUNCTIONS = (
    "workflow_logs_record_rollup_delta",
    "workflow_log_rollup_fold",
    "workflow_logs_create_partition",
)
TRIGGERS = (Trigger("workflow_logs_rollup_delta", table=tables.workflow_logs.name),)

TENANT_POLICY = "tenant_isolation"
# The tables whose rows belong to a tenant, each under the tenant_isolation policy.
# (api_keys and audit_events are the provider's: the service reads them as itself.)
TENANT_ISOLATED = tuple(
    table.name
    for table in (
        tables.workflow_logs,
        tables.workflow_log_ids,
        tables.otlp_spans,
        tables.rollup_pending,
        tables.rollup_hourly,
        tables.rollup_daily,
        tables.histogram_pending,
        tables.histogram_hourly,
        tables.histogram_daily,
        tables.alert_rules,
        tables.alert_channels,
        tables.alert_rule_channels,
        tables.alert_states,
        tables.alert_events,
        tables.alert_outbox,
        tables.alert_delivery_attempts,
    )
)


def tenant_isolation(table: str) -> str:
    """The statements that put `table` under the tenant_isolation policy."""
    return load(TENANT_POLICY).replace("{table}", table)


def _storage(table: str, parameters: dict[str, str]) -> str:
    return f"ALTER TABLE {table} SET ({', '.join(f'{k} = {v}' for k, v in parameters.items())})"


def _lz4_where_available() -> str:
    """lz4 compression (tables.LZ4_COLUMNS), skipped on a server built without lz4, as
    the migrations do."""
    statements = [
        f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4;"
        for table, columns in tables.LZ4_COLUMNS.items()
        for column in columns
    ]
    return (
        "DO $$ BEGIN "
        + " ".join(statements)
        + " EXCEPTION WHEN feature_not_supported THEN NULL; END $$"
    )


def build_from_source(connection: Connection) -> None:
    """Create the whole schema from this source alone, in an empty database."""
    tables.metadata.create_all(connection)
    for table, parameters in tables.STORAGE.items():
        connection.exec_driver_sql(_storage(table, parameters))
    connection.exec_driver_sql(_lz4_where_available())
    for name in FUNCTIONS:
        connection.exec_driver_sql(load(name))
    for trigger in TRIGGERS:
        connection.exec_driver_sql(load(trigger.name))
    for table in TENANT_ISOLATED:
        connection.exec_driver_sql(tenant_isolation(table))

"""Alembic environment: synchronous psycopg, one transaction, serialised by an
advisory lock so that several workers starting at once migrate only once."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, func, pool, select

from central_logger.db.partitions import is_partition_name
from central_logger.db.tables import metadata
from central_logger.settings import Settings, to_sqlalchemy_url

# Any constant shared by every process of the service.
_MIGRATION_LOCK_KEY = 0x6C6F6767  # "logg"


def _database_url() -> str:
    configured = context.config.get_main_option("sqlalchemy.url")
    if configured:
        return configured
    url = Settings().database_url
    if url is None:
        raise SystemExit(
            "DATABASE_URL is not set; use `central-logger migrate` for the embedded one"
        )
    return to_sqlalchemy_url(url)


def _in_source(name: str | None, type_: str, parent_names: object) -> bool:
    """workflow_logs' daily partitions are made and dropped by the service, not by
    migrations: autogenerate leaves them (and their indexes) out."""
    if type_ == "table":
        return name is None or not is_partition_name(name)
    if type_ == "index" and isinstance(parent_names, dict):
        return not is_partition_name(str(parent_names.get("table_name") or ""))
    return True


def run_migrations_online() -> None:
    engine = create_engine(_database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        # The whole schema's tables are in `metadata`, so autogenerate compares them all.
        context.configure(connection=connection, target_metadata=metadata, include_name=_in_source)
        with context.begin_transaction():
            connection.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()

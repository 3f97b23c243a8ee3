"""The schema's readable source (db/tables.py, db/definitions.py and db/sql/) and the
database the migrations build are the same schema.

Two checks, each failing on a change made to one side only:
- Alembic's autogenerate comparison of the migrated database with `tables.metadata`
  (what `alembic check` runs): no table, column, type, nullability, default,
  constraint or index missing or extra.
- A database built from the source alone, compared with the migrated one through
  PostgreSQL's own catalog, for what Alembic cannot compare: index definitions with
  their ordering, INCLUDE and WHERE, column order and compression, storage
  parameters, functions (bodies compared token by token: whitespace and `--`
  comments aside), triggers, row-level security and its policies.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from psycopg import sql
from sqlalchemy import create_engine, pool

from central_logger.db import definitions, tables
from central_logger.db.partitions import is_partition_name
from central_logger.settings import to_sqlalchemy_url
from tests.support.databases import libpq_to_url, with_database


def _in_source(name: str | None, type_: str, parent_names: Any) -> bool:
    """Every table of the database is in the metadata except workflow_logs' daily
    partitions, which the service makes at run time (only alembic_version is Alembic's
    own, and autogenerate ignores it). What Alembic cannot compare is compared through
    the catalog below."""
    if type_ == "table":
        return name is None or not is_partition_name(name)
    if type_ == "index":
        return not is_partition_name(parent_names.get("table_name") or "")
    return True


def _autogenerate_diffs(database_url: str) -> list[Any]:
    engine = create_engine(to_sqlalchemy_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_name": _in_source,
                },
            )
            return list(compare_metadata(context, tables.metadata))
    finally:
        engine.dispose()


def test_autogenerate_finds_nothing_to_change_in_the_migrated_database(database_url: str) -> None:
    assert _autogenerate_diffs(database_url) == []


@pytest.fixture(scope="module")
def source_database(server_url: str) -> Iterator[str]:
    """A database built from the source alone, no migration run."""
    name = f"central_logger_source_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = libpq_to_url(with_database(server_url, name))
    engine = create_engine(to_sqlalchemy_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            definitions.build_from_source(connection)
        yield url
    finally:
        engine.dispose()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _tokens(definition: str) -> str:
    """A definition without comments and with whitespace only where it separates words,
    so a function body reindented for reading equals the migration's."""
    definition = re.sub(r"--[^\n]*", " ", definition)
    definition = re.sub(r"\s+", " ", definition)
    return re.sub(r"\s*([(),;])\s*", r"\1", definition).strip()


_CATALOG: dict[str, str] = {
    "columns": """
        -- The column's place among the live columns: a dropped column leaves a hole in
        -- attnum that a database built from the source does not have.
        SELECT c.relname,
               row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
               a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attcompression
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0
          AND NOT a.attisdropped AND NOT c.relispartition
    """,
    "tables": """
        SELECT c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
               array(SELECT unnest(c.reloptions) ORDER BY 1)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S') AND NOT c.relispartition
    """,
    "constraints": """
        -- NOT NULL is compared with the columns: PostgreSQL 18 also lists it here, under
        -- a name that depends on which other table held that name when it was made.
        SELECT c.relname, k.conname, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND NOT c.relispartition AND k.contype <> 'n'
    """,
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes i
        JOIN pg_class c ON c.relname = i.tablename
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname
        WHERE i.schemaname = 'public' AND NOT c.relispartition
    """,
    "functions": """
        SELECT p.proname, pg_get_functiondef(p.oid)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.objid = p.oid AND d.deptype = 'e')
    """,
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND NOT t.tgisinternal AND NOT c.relispartition
    """,
    "policies": """
        SELECT p.tablename, p.policyname, p.permissive, p.roles, p.cmd, p.qual, p.with_check
        FROM pg_policies p
        JOIN pg_namespace n ON n.nspname = p.schemaname
        JOIN pg_class c ON c.relname = p.tablename AND c.relnamespace = n.oid
        WHERE p.schemaname = 'public' AND NOT c.relispartition
    """,
}


def _catalog(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    described: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(database_url) as conn:
        for part, query in _CATALOG.items():
            # Alembic's own bookkeeping is not part of the schema.
            rows = [row for row in conn.execute(query) if "alembic_version" not in row[:3]]
            if part == "functions":
                rows = [(name, _tokens(text)) for name, text in rows]
            described[part] = sorted(rows)
    return described


@pytest.fixture(scope="module")
def migrated_catalog(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    return _catalog(database_url)


@pytest.fixture(scope="module")
def source_catalog(source_database: str) -> dict[str, list[tuple[Any, ...]]]:
    return _catalog(source_database)


@pytest.mark.parametrize("part", list(_CATALOG))
def test_the_migrated_catalog_is_the_one_the_source_builds(
    migrated_catalog: dict[str, list[tuple[Any, ...]]],
    source_catalog: dict[str, list[tuple[Any, ...]]],
    part: str,
) -> None:
    migrated, source = migrated_catalog[part], source_catalog[part]
    only_migrated = [row for row in migrated if row not in source]
    only_in_source = [row for row in source if row not in migrated]
    assert (only_migrated, only_in_source) == ([], [])


def test_the_source_names_every_function_trigger_and_policy(
    migrated_catalog: dict[str, list[tuple[Any, ...]]],
) -> None:
    """Each function, trigger and policy of the migrated database is a named definition
    with its own file, not something the source builds some other way."""
    catalog = migrated_catalog
    assert sorted(name for name, _ in catalog["functions"]) == sorted(definitions.FUNCTIONS)
    assert sorted((t, n) for t, n, _ in catalog["triggers"]) == sorted(
        (t.table, t.name) for t in definitions.TRIGGERS
    )
    assert sorted(t for t, *_ in catalog["policies"]) == sorted(definitions.TENANT_ISOLATED)
    for name in [*definitions.FUNCTIONS, *(t.name for t in definitions.TRIGGERS)]:
        assert (definitions.SQL_DIR / f"{name}.sql").is_file()

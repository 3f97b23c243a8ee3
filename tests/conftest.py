"""A real PostgreSQL for the whole suite: the embedded server by default, or the
server named by TEST_DATABASE_URL. Each run gets its own freshly migrated database."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from central_logger.db.embedded import start_embedded
from central_logger.db.migrate import upgrade_to_head
from central_logger.settings import to_libpq_url
from tests.support.databases import libpq_to_url, with_database
from tests.support.requirements import MARKER, apply_requirements


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(is_missing, sentence): skip, or fail under CI, when missing"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    apply_requirements(item)


@pytest.fixture(scope="session")
def server_url() -> str:
    """A URL of the server's maintenance database."""
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        return to_libpq_url(external)
    # Not under pytest's 0700 tmp dirs: the server runs as its own OS user when we are root.
    parent = Path(tempfile.mkdtemp(prefix="central-logger-test-"))
    parent.chmod(0o755)
    # atexit runs last-registered first: the server (registered below) stops before this.
    atexit.register(shutil.rmtree, parent, True)
    return start_embedded(parent / "pgdata", database="postgres", throwaway=True)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A freshly migrated, empty database for this run, dropped at the end."""
    name = f"central_logger_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = libpq_to_url(with_database(server_url, name))
    upgrade_to_head(url)
    yield url
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# The old private names, for one merge (tests/support/databases.py holds them now).
_with_database = with_database
_libpq_to_url = libpq_to_url

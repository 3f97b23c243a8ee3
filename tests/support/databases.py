"""Database URLs beside the suite's server: libpq conninfo and URL forms."""

from __future__ import annotations

import psycopg

from central_logger.settings import to_libpq_url


def with_database(url: str, database: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(to_libpq_url(url))
    info["dbname"] = database
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


def libpq_to_url(conninfo: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    user = info.get("user", "postgres")
    password = info.get("password")
    host = info.get("host", "")
    port = info.get("port")
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgresql://{auth}/{info['dbname']}?host={host}" + (
            f"&port={port}" if port else ""
        )
    return f"postgresql://{auth}{host}{':' + str(port) if port else ''}/{info['dbname']}"

"""The async engine every request shares."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from central_logger.settings import Settings, to_sqlalchemy_url


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(settings: Settings, database_url: str) -> AsyncEngine:
    return create_async_engine(
        to_sqlalchemy_url(database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # A dead connection is detected when it is used and the pool is then
        # invalidated; pre-ping would cost a round trip on every request.
        pool_pre_ping=False,
        pool_timeout=5,
        # A failed statement's message must not carry its bound values into the error
        # log: they are tenant data (log fields, span attributes, key hashes).
        hide_parameters=True,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={
            "connect_timeout": 5,
            # Acting as DB_ROLE from the first statement on: a role that does not bypass
            # row-level security, set at connection start so it costs no round trip.
            # No parallel workers and no JIT: every service query reads an index range
            # or a rollup. Starting workers cost a bounded count ~10 ms, and JIT
            # compiling a 30-day metrics statement ~20 ms (both measured), while the
            # row-level security filter makes the planner expect far more rows.
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}"
            " -c max_parallel_workers_per_gather=0 -c jit=off"
            + (f" -c role={settings.db_role}" if settings.db_role else ""),
            "application_name": settings.service_name,
            # Prepare a statement from its second use on a connection (psycopg's default
            # is the sixth): the metrics statements are long to plan and often repeated.
            "prepare_threshold": 1,
        },
    )


def create_maintenance_engine(settings: Settings, database_url: str) -> AsyncEngine:
    """One autocommit connection as the URL's own user (the tables' owner, which VACUUM
    needs), never as DB_ROLE; for maintenance only, never for a request."""
    return create_async_engine(
        to_sqlalchemy_url(database_url),
        pool_size=1,
        max_overflow=0,
        pool_timeout=5,
        hide_parameters=True,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "connect_timeout": 5,
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
            "application_name": f"{settings.service_name}-maintenance",
        },
    )

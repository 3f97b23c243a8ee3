"""What every command needs from the service's database: started (when embedded) and
migrated, with a failure told in one paragraph; and one transaction to work in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.db.engine import create_engine
from central_logger.db.migrate import upgrade_to_head
from central_logger.main import resolve_database_url
from central_logger.settings import Settings
from central_logger.startup import explain_database_error

T = TypeVar("T")

# Who the audit trail and the retention policies name for changes made from the
# command line.
CLI_ACTOR = "cli"


def prepared_database(settings: Settings) -> str:
    """The database started if embedded and migrated, or one paragraph saying what to change."""
    try:
        url = resolve_database_url(settings)
        upgrade_to_head(url)
    except Exception as exc:  # any driver or embedded-server failure: explained, not traced
        typer.echo(explain_database_error(exc, settings), err=True)
        raise typer.Exit(1) from exc
    return url


def in_transaction(settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    url = prepared_database(settings)

    async def run() -> T:
        engine = create_engine(settings, url)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(run())

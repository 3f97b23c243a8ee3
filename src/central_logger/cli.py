"""`central-logger`: serve, migrate, keys, demo."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.auth import service as keys_service
from central_logger.auth.keys import hash_key
from central_logger.auth.repository import select_active_key_by_hash
from central_logger.auth.schemas import Scope
from central_logger.db.embedded import release_embedded
from central_logger.db.engine import create_engine
from central_logger.db.migrate import upgrade_to_head
from central_logger.demo import ship_demo_logs
from central_logger.main import resolve_database_url
from central_logger.settings import Settings

app = typer.Typer(
    help="Central Logger: workflow log collection and analytics.", no_args_is_help=True
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

T = TypeVar("T")

DEV_CLIENT_ID = "demo"


def _prepared_database(settings: Settings) -> str:
    url = resolve_database_url(settings)
    upgrade_to_head(url)
    return url


def _in_transaction(settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    url = _prepared_database(settings)

    async def run() -> T:
        engine = create_engine(settings, url)
        try:
            async with engine.begin() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _dev_key(settings: Settings, database_url: str) -> str:
    """A key to print at start-up: the first of API_KEYS, or a local development key
    kept in the data directory (created once, re-created if it no longer works)."""
    if settings.api_keys:
        return next(iter(settings.api_keys))
    key_file = settings.central_logger_data_dir / "dev-api-key"

    async def valid_or_new(conn: AsyncConnection) -> str:
        if key_file.is_file():
            key = key_file.read_text().strip()
            if await select_active_key_by_hash(conn, key_hash=hash_key(key)) is not None:
                return key
        created = await keys_service.create_key(
            conn,
            client_id=DEV_CLIENT_ID,
            scopes=[Scope.INGEST, Scope.READ],
            is_admin=False,
            name="local development key (make run)",
        )
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(created.key + "\n")
        key_file.chmod(0o600)
        return created.key

    async def run() -> str:
        engine = create_engine(settings, database_url)
        try:
            async with engine.begin() as conn:
                return await valid_or_new(conn)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _banner(settings: Settings, key: str, host: str, port: int) -> str:
    shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host  # noqa: S104
    base = f"http://{shown_host}:{port}"
    header = settings.api_key_header
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return f"""
Central Logger is starting on {base}
  dashboard: {base}/    health: {base}/health
  API key:   {key}

Try it:
  curl -X POST {base}/api/v1/logs -H "{header}: {key}" -H "Content-Type: application/json" \\
    -d '{{"environment": "production", "executed_at": "{now}", "status": "SUCCESS"}}'
  curl "{base}/api/v1/logs?page=1&page_size=10" -H "{header}: {key}"
"""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Run the service (the embedded PostgreSQL too, when DATABASE_URL is unset)."""
    settings = Settings()
    url = _prepared_database(settings)
    # Workers read the same settings; they must join this database, not start another.
    os.environ["DATABASE_URL"] = url
    typer.echo(_banner(settings, _dev_key(settings, url), host, port))
    # uvicorn ends by re-raising the signal that stopped it; exiting through Python
    # instead lets the embedded PostgreSQL stop with us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.run(
            "central_logger.main:app",
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            proxy_headers=False,
        )
    finally:
        release_embedded()


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    settings = Settings()
    _prepared_database(settings)
    typer.echo("database is at the latest schema")


def _parse_scopes(scopes: str) -> list[Scope]:
    try:
        return [Scope(part.strip()) for part in scopes.split(",") if part.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"scopes are {', '.join(s.value for s in Scope)}") from exc


@keys_app.command("create")
def keys_create(
    client_id: Annotated[str, typer.Option("--client-id", help="The tenant the key speaks for")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: ingest, read")] = "ingest,read",
    admin: Annotated[
        bool, typer.Option("--admin", help="A provider key that reads every tenant")
    ] = False,
    name: Annotated[str | None, typer.Option(help="A label for lists")] = None,
    expires_in_days: Annotated[int | None, typer.Option(min=1, help="Expire after N days")] = None,
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    created = _in_transaction(
        Settings(),
        lambda conn: keys_service.create_key(
            conn,
            client_id=client_id,
            scopes=_parse_scopes(scopes),
            is_admin=admin,
            name=name,
            expires_at=expires_at,
        ),
    )
    typer.echo(created.key)
    typer.echo(
        f"prefix {created.prefix}, client {created.client_id}, scopes {','.join(created.scopes)}"
        " (store the key now: it is not shown again)",
        err=True,
    )


@keys_app.command("list")
def keys_list(
    client_id: Annotated[str | None, typer.Option("--client-id")] = None,
) -> None:
    """List keys (prefixes only; keys themselves are never stored)."""
    keys = _in_transaction(
        Settings(), lambda conn: keys_service.list_keys(conn, client_id=client_id)
    )
    typer.echo(f"{'PREFIX':<13} {'CLIENT':<20} {'SCOPES':<20} {'STATE':<8} {'LAST USED':<20} NAME")
    for key in keys:
        state = (
            "revoked"
            if key.revoked_at
            else "expired"
            if (key.expires_at and key.expires_at < datetime.now(UTC))
            else "active"
        )
        last_used = key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "-"
        typer.echo(
            f"{key.prefix:<13} {key.client_id:<20} {','.join(key.scopes):<20} {state:<8} "
            f"{last_used:<20} {key.name or ''}"
        )


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. cl_1a2b3c4d")],
) -> None:
    """Revoke a key; every process stops accepting it within KEY_CACHE_TTL_SECONDS."""
    revoked = _in_transaction(Settings(), lambda conn: keys_service.revoke_key(conn, prefix=prefix))
    if revoked is None:
        typer.echo(f"no active key with prefix {prefix}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {prefix} (client {revoked.client_id})")


@app.command()
def demo(
    client_id: Annotated[
        list[str] | None,
        typer.Option(
            "--client-id",
            help="Repeat for several; default: API_KEYS' clients or demo, acme, globex",
        ),
    ] = None,
    logs_per_client: Annotated[int, typer.Option(min=1)] = 2000,
    days: Annotated[int, typer.Option(min=1, max=366)] = 14,
) -> None:
    """Ship realistic sample logs so the metrics and the dashboard have something to show."""
    settings = Settings()
    url = _prepared_database(settings)
    clients = (
        client_id or sorted(set(settings.api_keys.values())) or [DEV_CLIENT_ID, "acme", "globex"]
    )

    async def run() -> int:
        engine = create_engine(settings, url)
        try:
            return await ship_demo_logs(
                engine, client_ids=clients, logs_per_client=logs_per_client, days=days
            )
        finally:
            await engine.dispose()

    stored = asyncio.run(run())
    typer.echo(f"stored {stored} sample logs for {', '.join(clients)} over {days} days")


def main() -> None:  # pragma: no cover - console entry for `python -m central_logger`
    app(prog_name=Path(sys.argv[0]).name)

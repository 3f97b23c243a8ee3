"""`central-logger`: serve, migrate, keys, demo."""

from __future__ import annotations

import asyncio
import json
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

from central_logger.audit import service as audit_service
from central_logger.audit.schemas import AuditKind, AuditQuery
from central_logger.auth import service as keys_service
from central_logger.auth.keys import display_prefix
from central_logger.auth.schemas import Scope
from central_logger.db.embedded import release_embedded
from central_logger.db.engine import create_engine
from central_logger.db.migrate import upgrade_to_head
from central_logger.demo import ship_demo_logs
from central_logger.http.server import (
    SUPERVISOR_PID_ENV,
    HeaderCappedHttpToolsProtocol,
    head_limit,
    tls_files,
)
from central_logger.main import resolve_database_url
from central_logger.observability.exposition import (
    prepare_multiprocess_dir,
    remove_multiprocess_dir,
)
from central_logger.observability.logging import log_config, startup_message
from central_logger.retention import cli as retention_cli
from central_logger.settings import Settings
from central_logger.startup import StartupError, check_port, explain_database_error

app = typer.Typer(
    help="Central Logger: workflow log collection and analytics.", no_args_is_help=True
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
audit_app = typer.Typer(help="Read the audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(retention_cli.app, name="retention")

T = TypeVar("T")

DEV_CLIENT_ID = "demo"
# Who the audit trail names for changes made from the command line.
CLI_ACTOR = "cli"


def _prepared_database(settings: Settings) -> str:
    """The database started if embedded and migrated, or one paragraph saying what to change."""
    try:
        url = resolve_database_url(settings)
        upgrade_to_head(url)
    except Exception as exc:  # any driver or embedded-server failure: explained, not traced
        typer.echo(explain_database_error(exc, settings), err=True)
        raise typer.Exit(1) from exc
    return url


def _started(settings: Settings, host: str, port: int) -> str:
    """The port checked (before the banner promises it) and the database ready."""
    try:
        check_port(host, port)
    except StartupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    return _prepared_database(settings)


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


def _dev_key_wanted(settings: Settings, *, asked: bool) -> bool:
    """A key is made at start-up only where a person asked for one: `--dev-key`, a
    development environment, or the zero-setup embedded database (`make run`). A
    production service on its own DATABASE_URL never gets one silently."""
    return asked or settings.docs_enabled or settings.database_url is None


def _dev_key(settings: Settings, database_url: str) -> str:
    """The local development key, kept in the data directory (created once, re-created
    if it no longer works)."""
    key_file = settings.central_logger_data_dir / "dev-api-key"

    async def valid_or_new(conn: AsyncConnection) -> str:
        if key_file.is_file():
            key = key_file.read_text().strip()
            if await keys_service.is_active_key(conn, key):
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


def _shown_key(settings: Settings, database_url: str, *, dev_key: bool) -> str | None:
    """What the banner shows as the key: the first of API_KEYS (masked outside
    development), the development key where one is wanted, or None."""
    if settings.api_keys:
        key = next(iter(settings.api_keys))
        if settings.docs_enabled:
            return key
        # A configured secret is never written to output that ends up in logs.
        return f"<your key from API_KEYS, e.g. {display_prefix(key)}>"
    if _dev_key_wanted(settings, asked=dev_key):
        # The generated local development key is shown, being the point of it.
        return _dev_key(settings, database_url)
    return None


def _banner(settings: Settings, key: str | None, host: str, port: int) -> str:
    shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host  # noqa: S104
    base = f"http://{shown_host}:{port}"
    header = settings.api_key_header
    now = datetime.now(UTC).isoformat(timespec="seconds")
    if key is None:
        return f"""
Central Logger is starting on {base}
  dashboard: {base}/    health: {base}/health
  API key:   none made (production, DATABASE_URL set). Create one for each tenant:
    central-logger keys create --client-id <tenant> --scopes ingest,read
  (or set API_KEYS; --dev-key makes a local development key)
"""
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
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="Serve HTTPS: the certificate chain (PEM)")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="Serve HTTPS: its key (PEM)")] = None,
    dev_key: Annotated[
        bool,
        typer.Option(
            "--dev-key",
            help="Make (once, kept in the data directory) and print a local development "
            "key with ingest and read scopes, also in production with DATABASE_URL",
        ),
    ] = False,
) -> None:
    """Run the service (the embedded PostgreSQL too, when DATABASE_URL is unset)."""
    settings = Settings()
    tls = tls_files(settings, certfile=ssl_certfile, keyfile=ssl_keyfile)
    url = _started(settings, host, port)
    # Workers add their metrics up through files (before they import the app).
    metrics_dir = prepare_multiprocess_dir() if workers > 1 else None
    # Unless uvicorn stops cleanly, an embedded PostgreSQL this process found running is
    # left running: its users (orphaned workers of a killed serve) may hold no handle.
    failed = True
    try:
        # Workers read the same settings; they must join this database, not start another.
        os.environ["DATABASE_URL"] = url
        if workers > 1:
            # Workers stop when this process is gone (even killed with SIGKILL).
            os.environ[SUPERVISOR_PID_ENV] = str(os.getpid())
        banner = _banner(settings, _shown_key(settings, url, dev_key=dev_key), host, port)
        if tls is not None:
            banner = banner.replace("http://", "https://")
        typer.echo(startup_message(settings, banner))
        # uvicorn ends by re-raising the signal that stopped it; exiting through Python
        # instead lets the embedded PostgreSQL stop with us.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        uvicorn.run(
            "central_logger.main:app",
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            # X-Forwarded-For/-Proto are believed only from FORWARDED_ALLOW_IPS.
            proxy_headers=settings.forwarded_allow_ips is not None,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            # The head size cap, enforced as the bytes arrive (http/server.py).
            http=HeaderCappedHttpToolsProtocol,
            h11_max_incomplete_event_size=head_limit(settings),
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
            log_config=log_config(settings),
            ssl_certfile=tls[0] if tls else None,
            ssl_keyfile=tls[1] if tls else None,
        )
        failed = False
    except SystemExit as stop:
        failed = stop.code not in (None, 0)
        raise
    finally:
        remove_multiprocess_dir(metrics_dir)
        release_embedded(failed=failed)


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
    scopes: Annotated[
        str, typer.Option(help="Comma-separated: ingest, read (admin needs --admin)")
    ] = "ingest,read",
    admin: Annotated[
        bool,
        typer.Option("--admin", help="A provider key that reads and manages every tenant"),
    ] = False,
    name: Annotated[str | None, typer.Option(help="A label for lists")] = None,
    expires_in_days: Annotated[int | None, typer.Option(min=1, help="Expire after N days")] = None,
) -> None:
    """Create a key; it is printed once and only its hash is stored."""
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    requested = _parse_scopes(scopes)
    try:
        keys_service.granted_scopes(requested, is_admin=admin)
    except keys_service.AdminScopeNotRequestedError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scopes") from exc
    created = _in_transaction(
        Settings(),
        lambda conn: keys_service.create_key(
            conn,
            client_id=client_id,
            scopes=requested,
            is_admin=admin,
            name=name,
            expires_at=expires_at,
            actor=CLI_ACTOR,
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
    typer.echo(
        f"{'PREFIX':<13} {'KIND':<8} {'CLIENT':<20} {'SCOPES':<20} {'STATE':<8} "
        f"{'LAST USED':<20} NAME"
    )
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
            # A provider key says so: it reads every tenant, whatever its client_id.
            f"{key.prefix:<13} {'admin' if key.is_admin else 'tenant':<8} "
            f"{key.client_id:<20} {','.join(key.scopes):<20} {state:<8} "
            f"{last_used:<20} {key.name or ''}"
        )


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. cl_1a2b3c4d")],
) -> None:
    """Revoke a key; every process stops accepting it within KEY_CACHE_TTL_SECONDS."""
    revoked = _in_transaction(
        Settings(), lambda conn: keys_service.revoke_key(conn, prefix=prefix, actor=CLI_ACTOR)
    )
    if revoked is None:
        typer.echo(f"no active key with prefix {prefix}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {prefix} (client {revoked.client_id})")


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parse_duration(text: str) -> timedelta:
    value, unit = text[:-1], text[-1:].lower()
    if unit not in _DURATION_UNITS or not value.isdigit():
        raise typer.BadParameter("a duration like 90s, 30m, 24h or 7d")
    return timedelta(seconds=int(value) * _DURATION_UNITS[unit])


@keys_app.command("rotate")
def keys_rotate(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. cl_1a2b3c4d")],
    overlap: Annotated[
        str, typer.Option(help="How long the old key keeps working: 90s, 30m, 24h, 7d")
    ] = "24h",
) -> None:
    """Make a successor key; the old one keeps working for the overlap, then expires."""
    window = _parse_duration(overlap)
    rotated = _in_transaction(
        Settings(),
        lambda conn: keys_service.rotate_key(conn, prefix=prefix, overlap=window, actor=CLI_ACTOR),
    )
    if rotated is None:
        typer.echo(f"no active key with prefix {prefix}", err=True)
        raise typer.Exit(1)
    new, old = rotated
    typer.echo(new.key)
    typer.echo(
        f"prefix {new.prefix} replaces {prefix}, which expires at "
        f"{old.expires_at.isoformat() if old.expires_at else '-'}"
        " (store the key now: it is not shown again)",
        err=True,
    )


@audit_app.command("list")
def audit_list(
    kind: Annotated[AuditKind | None, typer.Option(help="Only this kind")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The newest audit events first (key prefixes only, never keys)."""
    page = _in_transaction(
        Settings(),
        lambda conn: audit_service.list_events(conn, query=AuditQuery(kind=kind, limit=limit)),
    )
    typer.echo(f"{'WHEN':<20} {'KIND':<12} {'COUNT':>6} {'ACTOR':<14} {'CLIENT':<16} DETAIL")
    for event in page.items:
        detail = json.dumps(event.detail, sort_keys=True) if event.detail else ""
        typer.echo(
            f"{event.occurred_at.strftime('%Y-%m-%d %H:%M:%S'):<20} {event.kind.value:<12} "
            f"{event.count:>6} {event.actor or '-':<14} {event.client_id or '-':<16} "
            f"{event.remote_addr or ''} {detail}"
        )


@app.command()
def demo(
    client_id: Annotated[
        list[str] | None,
        typer.Option(
            "--client-id",
            help="Repeat for several; default: API_KEYS' clients and demo, acme, globex, initech",
        ),
    ] = None,
    logs_per_client: Annotated[int, typer.Option(min=1)] = 2000,
    days: Annotated[int, typer.Option(min=1, max=366)] = 14,
) -> None:
    """Ship realistic sample logs so the metrics and the dashboard have something to show."""
    settings = Settings()
    url = _prepared_database(settings)
    # Several clients by default, each with a business of its own (demo.py); `demo` is
    # the client of the key `make run` prints.
    clients = client_id or sorted(
        set(settings.api_keys.values()) | {DEV_CLIENT_ID, "acme", "globex", "initech"}
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


@app.command()
def ship(
    files: Annotated[list[str], typer.Argument(help="JSONL files of logs, or - for stdin")],
    url: Annotated[str, typer.Option(envvar="CENTRAL_LOGGER_URL")] = "http://localhost:8000",
    api_key: Annotated[
        str, typer.Option(envvar="CENTRAL_LOGGER_API_KEY", help="An ingest key")
    ] = "",
    rejected: Annotated[
        Path, typer.Option(help="Where refused lines go, with their reasons")
    ] = Path("rejected.jsonl"),
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
    timeout: Annotated[
        float,
        typer.Option(
            min=0.1, help="Give up after this many seconds with nothing delivered (unreachable)"
        ),
    ] = 60.0,
    spool: Annotated[
        Path | None,
        typer.Option(help="Keep what could not be delivered in this directory for a rerun"),
    ] = None,
) -> None:
    """Backfill logs from newline-delimited JSON; exits 1 if any line was refused or
    could not be delivered before the timeout."""
    if not api_key:
        raise typer.BadParameter(
            "pass --api-key or set CENTRAL_LOGGER_API_KEY", param_hint="--api-key"
        )
    try:
        from central_logger.backfill import ship_files, write_rejected
    except ImportError as exc:  # the shipper is its own package
        raise typer.BadParameter(
            f"needs the shipper: pip install ./clients/python ({exc})"
        ) from exc
    summary = ship_files(
        files,
        url=url,
        api_key=api_key,
        api_key_header=Settings().api_key_header,
        show_progress=progress,
        timeout=timeout,
        spool_dir=spool,
    )
    typer.echo(
        f"{summary.lines} lines: {summary.accepted} accepted, {summary.duplicates} duplicate, "
        f"{summary.rejected} rejected, {summary.dropped} dropped"
    )
    if summary.rejected_lines:
        write_rejected(summary, rejected)
        typer.echo(f"rejected lines and their reasons: {rejected}", err=True)
    if summary.gave_up:
        where = (
            f"they are left in the spool {spool}; rerun with --spool {spool} to send them"
            if spool is not None
            else "rerun the same command to send them (lines with an id are never stored twice)"
        )
        typer.echo(
            f"gave up: nothing reached {url} for {timeout:g} s; {summary.undelivered} logs "
            f"not delivered, {where}",
            err=True,
        )
    elif not summary.flushed:
        typer.echo("some logs could not be delivered before the timeout", err=True)
    if not summary.ok:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry for `python -m central_logger`
    app(prog_name=Path(sys.argv[0]).name)

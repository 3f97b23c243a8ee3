"""`central-logger`: serve, migrate, demo, ship; keys, audit and retention from their domains."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.alerts import cli as alerts_cli
from central_logger.audit import cli as audit_cli
from central_logger.auth import cli as keys_cli
from central_logger.auth import service as keys_service
from central_logger.auth.keys import display_prefix
from central_logger.auth.schemas import Scope
from central_logger.commands import prepared_database
from central_logger.db.embedded import release_embedded
from central_logger.db.engine import create_engine
from central_logger.demo import ship_demo_logs
from central_logger.http.server import (
    SUPERVISOR_PID_ENV,
    HeaderCappedHttpToolsProtocol,
    head_limit,
    tls_files,
)
from central_logger.observability.exposition import (
    prepare_multiprocess_dir,
    remove_multiprocess_dir,
)
from central_logger.observability.logging import log_config, startup_message
from central_logger.retention import cli as retention_cli
from central_logger.settings import Settings
from central_logger.startup import StartupError, check_port

app = typer.Typer(
    help="Central Logger: workflow log collection and analytics.", no_args_is_help=True
)
app.add_typer(keys_cli.app, name="keys")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(retention_cli.app, name="retention")
app.add_typer(alerts_cli.app, name="alerts")

T = TypeVar("T")

DEV_CLIENT_ID = "demo"


def _started(settings: Settings, host: str, port: int) -> str:
    """The port checked (before the banner promises it) and the database ready."""
    try:
        check_port(host, port)
    except StartupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    return prepared_database(settings)


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
    prepared_database(settings)
    typer.echo("database is at the latest schema")


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
    url = prepared_database(settings)
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

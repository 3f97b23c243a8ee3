"""`central-logger retention`: run retention, and set, list or clear policies."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer

from central_logger.commands import CLI_ACTOR, in_transaction, prepared_database
from central_logger.db.engine import create_engine, create_maintenance_engine
from central_logger.retention import service
from central_logger.retention.schemas import (
    RetentionPolicy,
    RetentionPolicyUpdate,
    RetentionRunReport,
)
from central_logger.settings import Settings

app = typer.Typer(help="Retention: run it, and each client's policy.", no_args_is_help=True)


def _defaults(settings: Settings) -> service.Defaults:
    return service.Defaults(
        logs_days=settings.retention_days, rollup_days=settings.rollup_retention_days
    )


def _show(policy: RetentionPolicy) -> None:
    typer.echo(
        f"{policy.client_id or '(default)':<24} {policy.source:<8} "
        f"logs {policy.logs_days:>5} d   rollups {policy.rollup_days:>5} d   "
        f"logs kept since {policy.logs_kept_since:%Y-%m-%d %H:%M}"
    )


@app.command("run")
def run(
    now: Annotated[
        datetime | None,
        typer.Option(help="Apply retention as of this time (default: now); for tests and drills"),
    ] = None,
) -> None:
    """One retention run, for a cron job or a worker process (the service runs the same
    thing every RETENTION_INTERVAL_SECONDS; only one runs at a time)."""
    settings = Settings()
    url = prepared_database(settings)
    moment = now.astimezone() if now is not None else service.utc_now()

    async def go() -> RetentionRunReport:
        engine = create_engine(settings, url)
        retention = create_maintenance_engine(settings, url)
        try:
            await service.prepare_partitions(
                engine, days_ahead=settings.partition_days_ahead, now=moment
            )
            return await service.run_retention(
                retention,
                defaults=_defaults(settings),
                now=moment,
                batch_rows=settings.retention_delete_batch_rows,
            )
        finally:
            await engine.dispose()
            await retention.dispose()

    report = asyncio.run(go())
    if not report.ran:
        typer.echo("another process is running retention now; nothing done")
        return
    typer.echo(
        f"dropped {len(report.partitions_dropped)} daily partitions"
        f"{': ' + ', '.join(report.partitions_dropped) if report.partitions_dropped else ''}"
    )
    for client, count in sorted(report.logs_deleted.items()):
        typer.echo(f"deleted {count} logs of {client}")
    for client, count in sorted(report.rollup_rows_deleted.items()):
        typer.echo(f"deleted {count} rollup rows of {client}")


@app.command("set")
def set_policy(
    client_id: Annotated[str, typer.Argument(help="The client")],
    days: Annotated[int, typer.Option("--days", min=1, max=36500, help="Days logs are kept")],
    rollup_days: Annotated[
        int | None,
        typer.Option("--rollup-days", min=1, max=36500, help="Days charts are kept"),
    ] = None,
) -> None:
    """Give a client its own retention."""
    settings = Settings()
    try:
        update = RetentionPolicyUpdate(logs_days=days, rollup_days=rollup_days)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    policy = in_transaction(
        settings,
        lambda conn: service.set_policy(
            conn,
            client_id=client_id,
            update=update,
            actor=CLI_ACTOR,
            defaults=_defaults(settings),
            now=service.utc_now(),
        ),
    )
    _show(policy)


@app.command("list")
def list_policies() -> None:
    """The default and every client's own policy."""
    settings = Settings()
    policies = in_transaction(
        settings,
        lambda conn: service.list_policies(
            conn, defaults=_defaults(settings), now=service.utc_now()
        ),
    )
    _show(policies.default)
    for policy in policies.items:
        _show(policy)


@app.command("clear")
def clear_policy(client_id: Annotated[str, typer.Argument(help="The client")]) -> None:
    """Put a client back on the default retention."""
    settings = Settings()
    policy = in_transaction(
        settings,
        lambda conn: service.clear_policy(
            conn, client_id=client_id, defaults=_defaults(settings), now=service.utc_now()
        ),
    )
    if policy is None:
        typer.echo(f"{client_id} has no retention policy of its own", err=True)
        raise typer.Exit(1)
    _show(policy)

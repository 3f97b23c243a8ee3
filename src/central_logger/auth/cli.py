"""`central-logger keys`: create, list, revoke and rotate API keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from central_logger.auth import service as keys_service
from central_logger.auth.schemas import Scope
from central_logger.commands import CLI_ACTOR, in_transaction
from central_logger.settings import Settings

app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


def _parse_scopes(scopes: str) -> list[Scope]:
    try:
        return [Scope(part.strip()) for part in scopes.split(",") if part.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"scopes are {', '.join(s.value for s in Scope)}") from exc


@app.command("create")
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
    created = in_transaction(
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


@app.command("list")
def keys_list(
    client_id: Annotated[str | None, typer.Option("--client-id")] = None,
) -> None:
    """List keys (prefixes only; keys themselves are never stored)."""
    keys = in_transaction(
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


@app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. cl_1a2b3c4d")],
) -> None:
    """Revoke a key; every process stops accepting it within KEY_CACHE_TTL_SECONDS."""
    revoked = in_transaction(
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


@app.command("rotate")
def keys_rotate(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. cl_1a2b3c4d")],
    overlap: Annotated[
        str, typer.Option(help="How long the old key keeps working: 90s, 30m, 24h, 7d")
    ] = "24h",
) -> None:
    """Make a successor key; the old one keeps working for the overlap, then expires."""
    window = _parse_duration(overlap)
    rotated = in_transaction(
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

"""`central-logger audit`: read the audit trail."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from central_logger.audit import service as audit_service
from central_logger.audit.schemas import AuditKind, AuditQuery
from central_logger.commands import in_transaction
from central_logger.settings import Settings

app = typer.Typer(help="Read the audit trail.", no_args_is_help=True)


@app.command("list")
def audit_list(
    kind: Annotated[AuditKind | None, typer.Option(help="Only this kind")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The newest audit events first (key prefixes only, never keys)."""
    page = in_transaction(
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

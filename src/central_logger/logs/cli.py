"""`central-logger export`: the API's export (logs/export.py), to a file, from the
command line. The operator's view: every tenant unless --client-id names one."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from central_logger.auth.tenancy import Tenancy
from central_logger.commands import prepared_database
from central_logger.db.engine import create_engine
from central_logger.http.problems import ProblemError
from central_logger.logs import export as exporting
from central_logger.logs.schemas import LogExportParams
from central_logger.settings import Settings

Filter = Annotated[str | None, typer.Option(help="As the list's filter of the same name")]


def export(
    output: Annotated[Path, typer.Option(help="The file to write ('-' for stdout)")],
    format: Annotated[str, typer.Option(help="jsonl (whole logs) or csv (list columns)")] = "jsonl",
    client_id: Annotated[str | None, typer.Option(help="One tenant; default: every tenant")] = None,
    environment: Filter = None,
    status: Filter = None,
    category: Filter = None,
    ticket_id: Filter = None,
    workflow_version: Filter = None,
    resolution_status: Filter = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="executed_at >= this RFC 3339 time")
    ] = None,
    to: Annotated[str | None, typer.Option(help="executed_at < this RFC 3339 time")] = None,
    min_execution_time: Annotated[float | None, typer.Option()] = None,
    max_execution_time: Annotated[float | None, typer.Option()] = None,
    order: Annotated[str, typer.Option(help="desc (newest first) or asc")] = "desc",
    cursor: Annotated[str | None, typer.Option(help="Continue an export the cap cut short")] = None,
    max_rows: Annotated[
        int | None, typer.Option(min=1, help="At most this many logs (default EXPORT_MAX_ROWS)")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
) -> None:
    """Export the logs matching the list's filters to a file, as the API's
    GET /api/v1/logs/export does."""
    given: dict[str, Any] = {
        "format": format,
        "client_id": client_id,
        "environment": environment,
        "status": status,
        "category": category,
        "ticket_id": ticket_id,
        "workflow_version": workflow_version,
        "resolution_status": resolution_status,
        "from": from_,
        "to": to,
        "min_execution_time": min_execution_time,
        "max_execution_time": max_execution_time,
        "order": order,
        "cursor": cursor,
    }
    try:
        params = LogExportParams.model_validate({k: v for k, v in given.items() if v is not None})
        exporting.start_position(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "--" + "-".join(str(part) for part in first["loc"]).replace("_", "-")
        raise typer.BadParameter(first["msg"], param_hint=name) from exc
    except ProblemError as exc:
        raise typer.BadParameter(exc.errors[0].reason, param_hint="--cursor") from exc
    settings = Settings()
    url = prepared_database(settings)
    limit = max_rows or settings.export_max_rows
    outcome = exporting.ExportOutcome()

    async def run() -> None:
        engine = create_engine(settings, url)
        tenancy = Tenancy(params.client_id)
        begin = exporting.read_transaction(engine, None, tenancy.client_id)
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=not progress or str(output) == "-",
        )
        try:
            async with begin() as conn:
                total = await exporting.count_matching(
                    conn, tenancy=tenancy, params=params, limit=limit
                )
            with bar, contextlib.ExitStack() as files:
                sink: BinaryIO = (
                    sys.stdout.buffer
                    if str(output) == "-"
                    else files.enter_context(output.open("wb"))
                )
                task = bar.add_task("exporting", total=total)
                async for chunk in exporting.export_logs(
                    begin, tenancy=tenancy, params=params, max_rows=limit, outcome=outcome
                ):
                    sink.write(chunk)
                    bar.update(task, completed=outcome.rows)
        finally:
            await engine.dispose()

    asyncio.run(run())
    where = "stdout" if str(output) == "-" else str(output)
    typer.echo(f"{outcome.rows} logs written to {where}", err=str(output) == "-")
    if outcome.truncated:
        typer.echo(
            f"cut short at {limit} logs; continue with --cursor {outcome.next_cursor}", err=True
        )
    if outcome.failed:
        typer.echo("the export failed before its end (see the log above)", err=True)
        raise typer.Exit(1)

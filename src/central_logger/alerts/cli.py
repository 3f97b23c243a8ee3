"""`central-logger alerts run`: evaluate the rules and deliver the notifications, in a
worker process of its own (the service does the same unless ALERTS_IN_SERVICE=false)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from central_logger.alerts import delivery, evaluation
from central_logger.alerts.models import AlertsConfig
from central_logger.commands import prepared_database
from central_logger.db.engine import create_engine
from central_logger.settings import Settings

app = typer.Typer(help="Alerts: evaluate rules and deliver notifications.", no_args_is_help=True)


@app.command("run")
def run(
    once: Annotated[
        bool, typer.Option("--once", help="One evaluation and one delivery pass, then exit")
    ] = False,
) -> None:
    """Evaluate every ALERTS_EVALUATION_INTERVAL_SECONDS and deliver every
    ALERTS_DELIVERY_POLL_SECONDS until stopped. Any number may run: one evaluates at a
    time (an advisory lock) and each notification is claimed by one sender."""
    settings = Settings()
    url = prepared_database(settings)
    config = AlertsConfig.from_settings(settings)

    async def go() -> None:
        engine = create_engine(settings, url)
        try:
            if once:
                now = evaluation.utc_now()
                report = await evaluation.evaluate(engine, now=now, config=config)
                if not report.ran:
                    typer.echo("another process is evaluating now; evaluation skipped")
                else:
                    typer.echo(
                        f"evaluated {report.rules} rules: {report.changes} state changes, "
                        f"{report.notifications} notifications queued"
                    )
                sent = await delivery.deliver_due(engine, now=evaluation.utc_now(), config=config)
                typer.echo(f"delivered {sent.sent}, retrying {sent.retried}, gave up {sent.failed}")
                return
            await asyncio.gather(
                evaluation.run_evaluation_loop(engine, config=config),
                delivery.run_delivery_loop(engine, config=config),
            )
        finally:
            await engine.dispose()

    asyncio.run(go())

"""What the alerts tests share: settings, a clean slate, logs at chosen times, and
direct access to the evaluator and deliverer with a clock the test controls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from central_logger.alerts import delivery, evaluation
from central_logger.alerts.models import AlertsConfig
from central_logger.alerts.schemas import DeliveryReport, EvaluationReport
from central_logger.settings import Settings
from tests.support.factories import a_log
from tests.support.tenants import auth

ALERT_TABLES = (
    "alert_rules, alert_channels, alert_rule_channels, alert_states, alert_events, "
    "alert_outbox, alert_delivery_attempts"
)
# The evaluator is loop-free in these tests: each cycle is called with its own `now`.
OVERRIDES: dict[str, Any] = {"alerts_in_service": False, "alerts_allow_private_targets": True}


def clear_alerts(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {ALERT_TABLES}")


def base_time() -> datetime:
    """A past moment on a whole minute: logs around it are neither in the future nor
    expired, and the evaluator's clock is set from it."""
    return (datetime.now(UTC) - timedelta(hours=30)).replace(second=0, microsecond=0)


async def send_logs(
    client: httpx.AsyncClient, key: str, at: datetime, count: int, **fields: Any
) -> None:
    items = [a_log(executed_at=at.isoformat(), **fields) for _ in range(count)]
    response = await client.post("/api/v1/logs/batch", json={"logs": items}, headers=auth(key))
    assert response.status_code in (200, 201, 207), response.text
    assert response.json()["rejected"] == 0, response.text


def engine_of(app: FastAPI) -> AsyncEngine:
    engine: AsyncEngine = app.state.central_logger.engine
    return engine


async def evaluate(app: FastAPI, settings: Settings, now: datetime) -> EvaluationReport:
    return await evaluation.evaluate(
        engine_of(app), now=now, config=AlertsConfig.from_settings(settings)
    )


async def deliver(
    app: FastAPI, settings: Settings, now: datetime, **overrides: Any
) -> DeliveryReport:
    config = AlertsConfig.from_settings(settings.model_copy(update=overrides))
    return await delivery.deliver_due(engine_of(app), now=now, config=config)


def rows(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

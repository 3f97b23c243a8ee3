"""Realistic sample logs, shipped through the ingestion service, so that a new
install has metrics and traces to show."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from central_logger.http.json_checks import JsonLimits
from central_logger.logs import service as logs_service
from central_logger.logs.preparation import prepare_batch
from central_logger.logs.writer import LogWriter

ENVIRONMENTS = ("production", "staging", "development")
CATEGORIES = (
    "billing_issue",
    "password_reset",
    "refund_request",
    "shipping_delay",
    "bug_report",
    "feature_request",
    "account_access",
    "cancellation",
    "invoice_question",
    "onboarding",
    "data_export",
    "spam",
)
STEPS = ("fetch_ticket", "classify", "retrieve_context", "draft_reply", "post_update")
# Most runs succeed; the rest fail in ways an operator will recognise.
STATUSES = (("SUCCESS", 0.86), ("FAILED", 0.07), ("TIMEOUT", 0.04), ("PARTIAL", 0.03))


def _status(rng: random.Random) -> str:
    roll = rng.random()
    for status, weight in STATUSES:
        if roll < weight:
            return status
        roll -= weight
    return "SUCCESS"


def sample_log(rng: random.Random, *, executed_at: datetime, version: str) -> dict[str, Any]:
    status = _status(rng)
    category = rng.choice(CATEGORIES)
    durations = [round(rng.lognormvariate(-0.5, 0.6), 3) for _ in STEPS]
    trace: list[dict[str, Any]] = []
    started = executed_at
    for step, duration in zip(STEPS, durations, strict=True):
        trace.append(
            {
                "name": step,
                "started_at": started.isoformat(),
                "duration_seconds": duration,
                "status": "ok",
                "input": {"ticket_text_chars": rng.randint(80, 2000)}
                if step == "fetch_ticket"
                else {"model": "triage-large", "temperature": 0.2},
                "output": {"category": category, "confidence": round(rng.uniform(0.55, 0.99), 2)}
                if step == "classify"
                else {"tokens": rng.randint(50, 900)},
            }
        )
        started += timedelta(seconds=duration)
    if status != "SUCCESS":
        failing = rng.randrange(len(trace))
        trace[failing]["status"] = "error"
        trace[failing]["error"] = {"TIMEOUT": "upstream timed out after 30 s"}.get(
            status, "model returned an invalid reply"
        )
        trace = trace[: failing + 1]
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "environment": rng.choices(ENVIRONMENTS, weights=(70, 20, 10))[0],
        "executed_at": executed_at.isoformat(),
        "ticket_id": f"TICKET-{rng.randint(1000, 99999)}",
        "status": status,
        "execution_time_seconds": round(sum(step["duration_seconds"] for step in trace), 3),
        "workflow_version": version,
        "category": category,
        "resolution_status": "resolved" if status == "SUCCESS" else "escalated",
        "metrics": {
            "confidence": round(rng.uniform(0.5, 0.99), 3),
            "tokens_in": rng.randint(200, 4000),
            "tokens_out": rng.randint(50, 900),
        },
        "payload": {"trace": trace, "model": "triage-large"},
    }


async def ship_demo_logs(
    engine: AsyncEngine,
    *,
    client_ids: list[str],
    logs_per_client: int,
    days: int,
    seed: int = 7,
) -> int:
    """Ship the sample set; the same seed ships the same ids, so a rerun stores nothing new."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    now = datetime.now(UTC)
    stored = 0
    writer = LogWriter(engine, flushers=1)
    writer.start()
    try:
        for client_id in client_ids:
            logs = [
                sample_log(
                    rng,
                    executed_at=now - timedelta(seconds=rng.uniform(0, days * 86400)),
                    version=rng.choice(("1.3.0", "1.4.0", "1.4.1")),
                )
                for _ in range(logs_per_client)
            ]
            for start in range(0, len(logs), 500):
                prepared = prepare_batch(
                    orjson.dumps(logs[start : start + 500]),
                    JsonLimits(),
                    500,
                    timedelta(hours=1),
                )
                result = await logs_service.store_batch(
                    writer, client_id=client_id, prepared=prepared
                )
                stored += result["accepted"]
    finally:
        await writer.close()
    return stored

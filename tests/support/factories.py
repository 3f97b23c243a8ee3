"""Logs as a client would send them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


def a_log(**overrides: Any) -> dict[str, Any]:
    log: dict[str, Any] = {
        "environment": "production",
        "executed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "ticket_id": "TICKET-1",
        "status": "SUCCESS",
        "execution_time_seconds": 1.5,
        "category": "billing_issue",
        "workflow_version": "1.0.0",
        "resolution_status": "resolved",
        "metrics": {"confidence": 0.9},
        "payload": {"trace": [{"name": "classify", "duration_seconds": 1.5}]},
    }
    log.update(overrides)
    return {k: v for k, v in log.items() if v is not ...}


def with_id(**overrides: Any) -> dict[str, Any]:
    return a_log(id=str(uuid.uuid4()), **overrides)

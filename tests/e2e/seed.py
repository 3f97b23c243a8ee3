"""Known data for the browser tests (and the screenshots), shipped through the public API."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

TENANT_A_KEY = "e2e_key_a"
TENANT_B_KEY = "e2e_key_b"
ADMIN_KEY = "e2e_admin"
API_KEYS = '{"e2e_key_a": "tenant_a", "e2e_key_b": "tenant_b"}'
ADMIN_API_KEYS = '["e2e_admin"]'

# The run whose trace the detail test walks through.
KNOWN_TRACE: list[dict[str, Any]] = [
    {
        "name": "load_ticket",
        "duration_seconds": 0.4,
        "input": {"ticket_id": "A-KNOWN"},
        "output": {"chars": 812},
        "status": "ok",
    },
    {
        "name": "classify",
        "duration_seconds": 1.2,
        "input": {"text": "I was charged twice"},
        "output": {"category": "billing_issue", "confidence": 0.97},
        "status": "ok",
    },
    {"step": "retrieve_policy", "duration_ms": 650, "output": {"documents": 3}},
    {
        "name": "draft_reply",
        "duration_seconds": 2.3,
        "input": {"tone": "friendly"},
        "output": {"reply": "We refunded the duplicate charge."},
        "status": "ok",
    },
    {"name": "post_reply", "duration_seconds": 0.25, "status": "ok"},
]
MALFORMED_TRACE = "not a list of steps"


@dataclass
class Seeded:
    known_id: str
    malformed_id: str
    no_trace_id: str
    b_known_id: str
    tenant_a_count: int
    tenant_b_count: int
    categories_a: set[str] = field(default_factory=set)


def _logs(
    rng: random.Random, *, prefix: str, count: int, categories: list[str], now: datetime
) -> list[dict[str, Any]]:
    statuses = ["SUCCESS"] * 8 + ["FAILURE", "ERROR"]
    logs = []
    for i in range(count):
        executed = now - timedelta(hours=rng.uniform(0.5, 24 * 6.5))
        status = rng.choice(statuses)
        category = rng.choice(categories)
        log: dict[str, Any] = {
            "environment": rng.choice(["production", "production", "staging"]),
            "executed_at": executed.isoformat(),
            "status": status,
            "workflow_version": rng.choice(["1.4.0", "1.5.0"]),
            "ticket_id": f"{prefix}-{1000 + i}",
            "execution_time_seconds": round(rng.uniform(0.5, 12.0), 3),
            "resolution_status": "resolved" if status == "SUCCESS" else "escalated",
            "metrics": {
                "confidence": round(rng.uniform(0.5, 1), 2),
                "tokens": rng.randint(200, 4000),
            },
            "payload": {
                "trace": [
                    {"name": "classify", "duration_seconds": 0.5},
                    {"name": "respond", "duration_seconds": 1.0},
                ]
            },
        }
        if category is not None:
            log["category"] = category
        logs.append(log)
    return logs


def _post(client: httpx.Client, key: str, logs: list[dict[str, Any]]) -> None:
    for start in range(0, len(logs), 500):
        response = client.post(
            "/api/v1/logs/batch",
            json={"logs": logs[start : start + 500]},
            headers={"X-API-Key": key},
        )
        response.raise_for_status()
        body = response.json()
        assert body["rejected"] == 0, body


def seed(base_url: str) -> Seeded:
    rng = random.Random(4)
    now = datetime.now(UTC)
    a_categories = ["billing_issue", "login_problem", "shipping_delay", "refund_request"]
    a_logs = _logs(rng, prefix="A", count=130, categories=a_categories, now=now)
    b_logs = _logs(
        rng, prefix="B", count=40, categories=["b_only_category", "billing_issue"], now=now
    )

    known_id, malformed_id, no_trace_id, b_known_id = (str(uuid.uuid4()) for _ in range(4))
    a_logs.append(
        {
            "id": known_id,
            "environment": "production",
            "executed_at": (now - timedelta(hours=2)).isoformat(),
            "status": "SUCCESS",
            "workflow_version": "1.5.0",
            "ticket_id": "A-KNOWN",
            "category": "billing_issue",
            "execution_time_seconds": 5.0,
            "resolution_status": "resolved",
            "metrics": {"confidence": 0.97, "tokens": 1234},
            "payload": {"trace": KNOWN_TRACE, "customer": {"tier": "gold"}},
        }
    )
    a_logs.append(
        {
            "id": malformed_id,
            "environment": "staging",
            "executed_at": (now - timedelta(hours=3)).isoformat(),
            "status": "FAILURE",
            "ticket_id": "A-KNOWN",
            "category": "billing_issue",
            "execution_time_seconds": 1.0,
            "payload": {"trace": MALFORMED_TRACE},
        }
    )
    a_logs.append(
        {
            "id": no_trace_id,
            "environment": "staging",
            "executed_at": (now - timedelta(hours=4)).isoformat(),
            "status": "SUCCESS",
            "ticket_id": "A-NOTRACE",
            "category": "login_problem",
        }
    )
    a_logs.append(
        {
            "environment": "production",
            "executed_at": (now - timedelta(hours=5)).isoformat(),
            "status": "SUCCESS",
            "ticket_id": "A-NOCATEGORY",
            "execution_time_seconds": 3.0,
        }
    )
    b_logs.append(
        {
            "id": b_known_id,
            "environment": "production",
            "executed_at": (now - timedelta(hours=1)).isoformat(),
            "status": "SUCCESS",
            "ticket_id": "B-KNOWN",
            "category": "b_only_category",
            "execution_time_seconds": 2.0,
        }
    )
    with httpx.Client(base_url=base_url, timeout=60) as client:
        _post(client, TENANT_A_KEY, a_logs)
        _post(client, TENANT_B_KEY, b_logs)
    return Seeded(
        known_id=known_id,
        malformed_id=malformed_id,
        no_trace_id=no_trace_id,
        b_known_id=b_known_id,
        tenant_a_count=len(a_logs),
        tenant_b_count=len(b_logs),
        categories_a={c for c in a_categories},
    )

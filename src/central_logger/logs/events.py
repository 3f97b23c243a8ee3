"""The events ingestion publishes for the live tail (docs/live-tail.md).

Every transaction that stores logs also sends their summaries (the list's fields) with
PostgreSQL's NOTIFY on `CHANNEL`, in that same transaction, so a listener hears of a
log only once it is committed, whichever worker or replica stored it. A notification's
payload must stay under 8000 bytes: the summaries go in as many notifications as they
need, each `{"x": <transaction id>, "c": <notification number>, "t": <created_at as
epoch seconds>, "e": [summary, ...]}`. An event's id, `<x>-<c>-<index>`, names the
same log in every process that listens, so a client may resume on any of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from central_logger.logs.models import LogRow, TenantRow

CHANNEL = "central_logger_logs"

# PostgreSQL refuses a payload of 8000 bytes or more; the envelope takes ~80.
MAX_CHUNK_BYTES = 7800


def summary_json(client_id: str, row: LogRow) -> bytes:
    """A log's summary as JSON (without created_at: the transaction's time, which the
    envelope carries). Metrics that would not fit one notification are left out, and
    the summary says so (`metrics_omitted`); the detail has them."""
    summary: dict[str, Any] = {
        "id": row.id,
        "client_id": client_id,
        "environment": row.environment,
        "workflow_version": row.workflow_version,
        "ticket_id": row.ticket_id,
        "executed_at": row.executed_at,
        "execution_time_seconds": row.execution_time_seconds,
        "status": row.status,
        "category": row.category,
        "resolution_status": row.resolution_status,
        "metrics": None if row.metrics_json is None else orjson.Fragment(row.metrics_json),
    }
    encoded = orjson.dumps(summary)
    if len(encoded) > MAX_CHUNK_BYTES:
        summary["metrics"] = None
        summary["metrics_omitted"] = True
        encoded = orjson.dumps(summary)
    return encoded


def notification_chunks(rows: Iterable[TenantRow]) -> list[str]:
    """The summaries of `rows` as JSON arrays, each small enough for one notification."""
    chunks: list[str] = []
    current: list[bytes] = []
    size = 2
    for tenant_row in rows:
        encoded = summary_json(tenant_row.client_id, tenant_row.row)
        if current and size + len(encoded) + 1 > MAX_CHUNK_BYTES:
            chunks.append(_joined(current))
            current, size = [], 2
        current.append(encoded)
        size += len(encoded) + 1
    if current:
        chunks.append(_joined(current))
    return chunks


def _joined(encoded: Sequence[bytes]) -> str:
    return (b"[" + b",".join(encoded) + b"]").decode()


@dataclasses.dataclass(frozen=True, slots=True)
class LogEvent:
    """One stored log, as a listener hears of it."""

    id: str
    client_id: str
    summary: dict[str, Any]
    executed_at: datetime
    # The summary as the stream sends it (JSON), encoded once for every subscriber.
    data: str


def decode_notification(payload: str) -> list[LogEvent]:
    envelope = orjson.loads(payload)
    prefix = f"{envelope['x']}-{envelope['c']}-"
    created_at = datetime.fromtimestamp(float(envelope["t"]), UTC)
    events = []
    for index, summary in enumerate(envelope["e"]):
        summary["created_at"] = created_at
        executed_at = datetime.fromisoformat(summary["executed_at"])
        summary["executed_at"] = executed_at
        events.append(
            LogEvent(
                id=f"{prefix}{index}",
                client_id=summary["client_id"],
                summary=summary,
                executed_at=executed_at,
                data=orjson.dumps(summary).decode(),
            )
        )
    return events

"""The logs domain's own types: what the service hands the repository and gets back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class LogRow:
    """A validated log ready for insertion; JSON already serialised."""

    id: UUID
    environment: str
    workflow_version: str | None
    ticket_id: str | None
    executed_at: datetime
    execution_time_seconds: float | None
    status: str
    category: str | None
    resolution_status: str | None
    metrics_json: str | None
    payload_json: str | None


@dataclass(frozen=True, slots=True)
class TenantRow:
    """A row and the tenant it belongs to, as its API key established."""

    client_id: str
    row: LogRow


@dataclass(frozen=True, slots=True)
class LogQuery:
    client_id: str | None
    environment: str | None = None
    status: str | None = None
    category: str | None = None
    ticket_id: str | None = None
    workflow_version: str | None = None
    resolution_status: str | None = None
    executed_from: datetime | None = None
    executed_to: datetime | None = None
    min_execution_time: float | None = None
    max_execution_time: float | None = None
    # Search: a ticket id by prefix, or words of the log (logs/repository.py).
    q: str | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """A keyset position: the last row of the previous page."""

    executed_at: datetime
    id: UUID


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]  # summary columns by name
    # The rows matching the filters, counted up to the count limit; None when the
    # page came back empty and so carried no count.
    matching: int | None

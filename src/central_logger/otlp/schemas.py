"""The attribute convention that maps a trace onto a workflow log. OpenTelemetry's
semantic conventions are used where one exists; the rest live under `workflow.`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Resource attributes (semantic conventions), current name first.
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")
VERSION_KEYS = ("service.version",)
SERVICE_NAME_KEY = "service.name"
# Root-span attributes of ours.
TICKET_KEY = "workflow.ticket_id"
CATEGORY_KEY = "workflow.category"
RESOLUTION_KEY = "workflow.resolution_status"
STATUS_KEY = "workflow.status"  # overrides the status derived from the span status
METRIC_PREFIX = "workflow.metric."  # workflow.metric.confidence=0.93 -> metrics.confidence
# Step attributes of ours (descendant spans).
STEP_INPUT_KEY = "workflow.step.input"
STEP_OUTPUT_KEY = "workflow.step.output"

DEFAULT_ENVIRONMENT = "unknown"

# OTLP span status codes.
STATUS_CODE_ERROR = 2


@dataclass(frozen=True, slots=True)
class Span:
    trace_id: str  # 32 hex characters
    span_id: str  # 16 hex characters
    parent_span_id: str | None
    name: str
    start_unix_nano: int
    end_unix_nano: int
    status_code: int
    status_message: str
    attributes: dict[str, Any]
    resource: dict[str, Any] = field(default_factory=dict)

    @property
    def is_root(self) -> bool:
        return self.parent_span_id is None


@dataclass
class Decoded:
    spans: list[Span]
    rejected: int
    reasons: list[str]

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
STATUS_CODE_UNSET = 0
STATUS_CODE_OK = 1
STATUS_CODE_ERROR = 2
STATUS_NAMES = {STATUS_CODE_UNSET: "unset", STATUS_CODE_OK: "ok", STATUS_CODE_ERROR: "error"}
# OTLP span kinds (SpanKind in trace.proto).
KIND_NAMES = {
    0: "UNSPECIFIED",
    1: "INTERNAL",
    2: "SERVER",
    3: "CLIENT",
    4: "PRODUCER",
    5: "CONSUMER",
}
# Span entry points of a process: a SERVER or CONSUMER span whose parent is absent is
# taken as the local root of a trace continued from upstream (an exporter that does
# not set the flags below).
ENTRY_KINDS = frozenset({2, 5})
# Span.flags bits 8 and 9 (trace.proto SpanFlags): whether the parent's remoteness is
# known, and that the parent is remote.
FLAG_HAS_IS_REMOTE = 0x100
FLAG_IS_REMOTE = 0x200
# The exception event of the semantic conventions.
EXCEPTION_EVENT = "exception"


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
    kind: int = 0
    flags: int = 0
    # {"name": ..., "version": ...} of the instrumentation scope, when it has a name.
    scope: dict[str, Any] = field(default_factory=dict)
    # [{"name", "time_unix_nano", "attributes"}] in the order sent.
    events: list[dict[str, Any]] = field(default_factory=list)
    # [{"trace_id", "span_id", "attributes"}] in the order sent.
    links: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_root(self) -> bool:
        """A root the span says it is: no parent, or a parent the exporter marks remote
        (docs/ingest.md, "How spans become a run")."""
        return self.parent_span_id is None or has_remote_parent(self.flags)


def has_remote_parent(flags: int) -> bool:
    return flags & (FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE) == FLAG_HAS_IS_REMOTE | FLAG_IS_REMOTE


@dataclass
class Decoded:
    spans: list[Span]
    rejected: int
    reasons: list[str]

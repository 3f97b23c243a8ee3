"""Traces into workflow logs (docs/ingest.md, "How spans become a run"). The root span
is the run; every other span, by start time and then parent before child, is a step
of `payload.trace`, with its kind, status, attributes, events, links and scope.
Spans are staged, so a trace whose spans arrive in several requests, in any order,
ends up as one whole log: it is written when its root arrives and its trace is
refreshed as later spans come."""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central_logger.db.tenancy import state_tenant
from central_logger.logs import service as logs_service
from central_logger.logs.models import LogRow
from central_logger.logs.validation import to_row
from central_logger.otlp import repository
from central_logger.otlp.schemas import (
    CATEGORY_KEY,
    DEFAULT_ENVIRONMENT,
    ENTRY_KINDS,
    ENVIRONMENT_KEYS,
    EXCEPTION_EVENT,
    KIND_NAMES,
    METRIC_PREFIX,
    RESOLUTION_KEY,
    SERVICE_NAME_KEY,
    STATUS_CODE_ERROR,
    STATUS_CODE_OK,
    STATUS_KEY,
    STATUS_NAMES,
    STEP_INPUT_KEY,
    STEP_OUTPUT_KEY,
    TICKET_KEY,
    VERSION_KEYS,
    Span,
    has_remote_parent,
)

logger = logging.getLogger(__name__)

# Spans of a trace whose root never came are kept this long.
STAGED_SPAN_TTL_SECONDS = 24 * 3600
# A trace whose root has not come this long after its spans is written without it.
ROOTLESS_AFTER_SECONDS = 15 * 60
# How far back each (hourly) pass looks for such traces: two passes' worth.
ROOTLESS_WINDOW_SECONDS = 2 * 3600
_OURS = {TICKET_KEY, CATEGORY_KEY, RESOLUTION_KEY, STATUS_KEY, STEP_INPUT_KEY, STEP_OUTPUT_KEY}


def _first(attributes: Mapping[str, Any], keys: Sequence[str]) -> Any:
    return next((attributes[k] for k in keys if attributes.get(k) not in (None, "")), None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _time(unix_nano: int) -> datetime:
    return datetime.fromtimestamp(unix_nano / 1e9, UTC)


def _exception(events: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The last exception event's type, message and stack trace (semantic conventions
    `exception.*`), or None."""
    for event in reversed(events):
        if event["name"] == EXCEPTION_EVENT:
            attributes = event["attributes"]
            return {
                "type": attributes.get("exception.type"),
                "message": attributes.get("exception.message"),
                "stacktrace": attributes.get("exception.stacktrace"),
            }
    return None


def _stored_events(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "name": e["name"],
            "at": _time(e["time_unix_nano"]).isoformat() if e["time_unix_nano"] else None,
            "attributes": e["attributes"],
        }
        for e in events
    ]


def _details(span: Mapping[str, Any], root_resource: Mapping[str, Any]) -> dict[str, Any]:
    """What every stored span carries beyond its name and times: kind, the span status
    as sent, events, links, scope, exception; the resource only where it is not the
    root's (a span of another service in the same trace)."""
    details: dict[str, Any] = {
        "kind": KIND_NAMES.get(span["kind"], str(span["kind"])),
        "span_status": STATUS_NAMES.get(span["status_code"], str(span["status_code"])),
    }
    if span["events"]:
        details["events"] = _stored_events(span["events"])
    exception = _exception(span["events"])
    if exception is not None:
        details["exception"] = exception
    if span["links"]:
        details["links"] = span["links"]
    if span["scope"]:
        details["scope"] = span["scope"]
    if span["resource"] != root_resource:
        details["resource"] = span["resource"]
    return details


def _error_text(span: Mapping[str, Any]) -> str:
    if span["status_message"]:
        return str(span["status_message"])
    exception = _exception(span["events"])
    if exception and (exception["type"] or exception["message"]):
        return ": ".join(str(p) for p in (exception["type"], exception["message"]) if p)
    return "error"


def _step(span: Mapping[str, Any], root_resource: Mapping[str, Any]) -> dict[str, Any]:
    attributes: dict[str, Any] = span["attributes"]
    failed = span["status_code"] == STATUS_CODE_ERROR
    step: dict[str, Any] = {
        "name": span["name"],
        "span_id": span["span_id"],
        "parent_span_id": span["parent_span_id"],
        "started_at": _time(span["start_unix_nano"]).isoformat(),
        "duration_seconds": (span["end_unix_nano"] - span["start_unix_nano"]) / 1e9,
        "status": "error" if failed else "ok",
        "input": attributes.get(STEP_INPUT_KEY),
        "output": attributes.get(STEP_OUTPUT_KEY),
        "attributes": {k: v for k, v in attributes.items() if k not in _OURS},
        **_details(span, root_resource),
    }
    if failed:
        step["error"] = _error_text(span)
    return step


def _root_of(
    spans: Sequence[Mapping[str, Any]], *, orphans_too: bool = False
) -> Mapping[str, Any] | None:
    """The run's span: the earliest span without a parent; else the earliest whose
    parent the exporter marks remote (Span.flags); else the earliest SERVER or CONSUMER
    span whose parent is not in the trace (a trace continued from upstream, from an
    exporter that sets no flags); else, with `orphans_too` (a trace whose root has not
    come for ROOTLESS_AFTER_SECONDS), the earliest span whose parent is not in the
    trace; else None: the root has not arrived yet."""
    ids = {s["span_id"] for s in spans}

    def earliest(candidates: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
        return min(candidates, key=lambda s: (s["start_unix_nano"], s["span_id"]), default=None)

    return (
        earliest([s for s in spans if s["parent_span_id"] is None])
        or earliest([s for s in spans if has_remote_parent(s["flags"])])
        or earliest(
            [s for s in spans if s["parent_span_id"] not in ids and s["kind"] in ENTRY_KINDS]
        )
        or (earliest([s for s in spans if s["parent_span_id"] not in ids]) if orphans_too else None)
    )


def in_step_order(spans: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Start time, then parent before child (a child may start in the same millisecond
    as its parent: JavaScript SDKs keep milliseconds), then span id."""
    parents = {s["span_id"]: s["parent_span_id"] for s in spans}
    depths: dict[str, int] = {}

    def depth(span_id: str) -> int:
        # Iterative, and safe from a cycle a broken exporter could send.
        chain: list[str] = []
        current: str | None = span_id
        while current is not None and current in parents:
            if current in depths or current in chain:
                break
            chain.append(current)
            current = parents[current]
        known = depths.get(current, -1) if current is not None else -1
        for offset, item in enumerate(reversed(chain), start=1):
            depths[item] = known + offset
        return depths[span_id]

    return sorted(spans, key=lambda s: (s["start_unix_nano"], depth(s["span_id"]), s["span_id"]))


def _run_status(root: Mapping[str, Any], ordered: Sequence[Mapping[str, Any]]) -> str:
    """`workflow.status` from any span (the root's first); else ERROR when the root's
    status is error; SUCCESS when it is ok (the root says it handled what failed below
    it); and when it is unset, ERROR if any step failed, else SUCCESS."""
    for span in ordered:
        if span["attributes"].get(STATUS_KEY) not in (None, ""):
            return str(span["attributes"][STATUS_KEY])
    if root["status_code"] == STATUS_CODE_ERROR:
        return "ERROR"
    if root["status_code"] == STATUS_CODE_OK:
        return "SUCCESS"
    failed = any(s["status_code"] == STATUS_CODE_ERROR for s in ordered)
    return "ERROR" if failed else "SUCCESS"


def _workflow_value(ordered: Sequence[Mapping[str, Any]], key: str) -> Any:
    """A `workflow.*` attribute from any span: the root's, else the first span's (in
    step order) that has it."""
    return next(
        (s["attributes"][key] for s in ordered if s["attributes"].get(key) not in (None, "")),
        None,
    )


def log_of_trace(
    spans: Sequence[Mapping[Any, Any]], *, orphans_too: bool = False
) -> dict[str, Any] | None:
    """The workflow log of one trace's spans, or None while its root has not arrived."""
    root = _root_of(spans, orphans_too=orphans_too)
    if root is None:
        return None
    steps = [s for s in in_step_order(spans) if s is not root]
    ordered = [root, *steps]
    attributes: dict[str, Any] = root["attributes"]
    resource: dict[str, Any] = root["resource"]
    metrics: dict[str, Any] = {}
    for span in ordered:
        for key, value in span["attributes"].items():
            if key.startswith(METRIC_PREFIX):
                metrics.setdefault(key.removeprefix(METRIC_PREFIX), value)
    otel: dict[str, Any] = {
        "trace_id": root["trace_id"],
        "span_id": root["span_id"],
        "root_span": root["name"],
        "service_name": resource.get(SERVICE_NAME_KEY),
        "attributes": {k: v for k, v in attributes.items() if k not in _OURS},
        "resource": resource,
        **_details(root, resource),
    }
    if root["parent_span_id"] is not None:
        otel["remote_parent_span_id"] = root["parent_span_id"]
    if root["status_message"]:
        otel["status_message"] = root["status_message"]
    return {
        "id": str(uuid.UUID(hex=root["trace_id"])),
        "environment": _text(_first(resource, ENVIRONMENT_KEYS)) or DEFAULT_ENVIRONMENT,
        "workflow_version": _text(_first(resource, VERSION_KEYS)),
        "executed_at": _time(root["start_unix_nano"]).isoformat(),
        "execution_time_seconds": (root["end_unix_nano"] - root["start_unix_nano"]) / 1e9,
        "status": _run_status(root, ordered),
        "ticket_id": _text(_workflow_value(ordered, TICKET_KEY)),
        "category": _text(_workflow_value(ordered, CATEGORY_KEY)),
        "resolution_status": _text(_workflow_value(ordered, RESOLUTION_KEY)),
        "metrics": metrics or None,
        "payload": {"trace": [_step(s, resource) for s in steps], "otel": otel},
    }


@dataclass
class Refused:
    """Spans of an export that passed decoding but cannot become (part of) a log."""

    spans: int = 0
    reasons: list[str] = field(default_factory=list)


def _refused_root(
    span: Span, *, max_future: timedelta, now: datetime, max_age: timedelta | None
) -> str:
    """Why the log of this root span would be refused (its columns come from the root
    and its resource alone), or "": checked before the span is staged, so a refused
    root never sits in the staging table blocking a corrected re-send."""
    log = log_of_trace([asdict(span)])
    assert log is not None
    row = to_row(log, check_nul=True, max_future=max_future, now=now, max_age=max_age)
    if isinstance(row, LogRow):
        return ""
    return "; ".join(f"{e.field}: {e.reason}" for e in row)


async def ingest_spans(
    conn: AsyncConnection,
    *,
    client_id: str,
    spans: Sequence[Span],
    max_future: timedelta,
    max_age: timedelta | None = None,
    publish: bool = False,
) -> Refused:
    """Stage the spans and write the log of every trace whose root has arrived.
    Returns the spans refused, counted one by one, and why."""
    refused = Refused()
    now = datetime.now(UTC)
    staged_spans: list[Span] = []
    for span in spans:
        problem = (
            _refused_root(span, max_future=max_future, now=now, max_age=max_age)
            if span.is_root
            else ""
        )
        if problem:
            refused.spans += 1
            refused.reasons.append(f"trace {span.trace_id}: {problem}")
        else:
            staged_spans.append(span)
    if not staged_spans:
        return refused
    await repository.stage_spans(conn, client_id=client_id, spans=staged_spans)
    spans_in_request = Counter(s.trace_id for s in staged_spans)
    trace_ids = sorted(spans_in_request)
    staged = await repository.select_trace_spans(conn, client_id=client_id, trace_ids=trace_ids)
    whole: list[LogRow] = []
    for trace_id, trace_spans in itertools.groupby(staged, key=lambda s: s["trace_id"]):
        log = log_of_trace(list(trace_spans))
        if log is None:
            continue
        row = to_row(log, check_nul=True, max_future=max_future, now=now, max_age=max_age)
        if not isinstance(row, LogRow):
            reasons = "; ".join(f"{e.field}: {e.reason}" for e in row)
            refused.spans += spans_in_request[trace_id]
            refused.reasons.append(f"trace {trace_id}: {reasons}")
            continue
        whole.append(row)
    await logs_service.store_trace_logs(conn, client_id=client_id, rows=whole, publish=publish)
    return refused


async def write_rootless_traces(
    conn: AsyncConnection, *, max_future: timedelta, publish: bool = False
) -> int:
    """Write the log of every staged trace whose root has not come in
    ROOTLESS_AFTER_SECONDS, from its earliest span whose parent is not in the trace (an
    exporter that marks no remote parent, a root lost upstream): such spans are never
    dropped unseen. Returns the logs written; a trace whose log is refused is logged."""
    now = datetime.now(UTC)
    keys = await repository.select_traces_received_before(
        conn, seconds_ago=ROOTLESS_AFTER_SECONDS, window_seconds=ROOTLESS_WINDOW_SECONDS
    )
    written = 0
    for client_id, client_keys in itertools.groupby(keys, key=lambda k: k[0]):
        trace_ids = [trace_id for _, trace_id in client_keys]
        staged = await repository.select_trace_spans(conn, client_id=client_id, trace_ids=trace_ids)
        rows: list[LogRow] = []
        for trace_id, trace_spans in itertools.groupby(staged, key=lambda s: s["trace_id"]):
            spans = list(trace_spans)
            if log_of_trace(spans) is not None:
                continue  # its root came: the log was written then
            log = log_of_trace(spans, orphans_too=True)
            assert log is not None
            row = to_row(log, check_nul=True, max_future=max_future, now=now)
            if isinstance(row, LogRow):
                rows.append(row)
            else:
                reasons = "; ".join(f"{e.field}: {e.reason}" for e in row)
                logger.warning("rootless trace %s of %s refused: %s", trace_id, client_id, reasons)
        await logs_service.store_trace_logs(conn, client_id=client_id, rows=rows, publish=publish)
        written += len(rows)
    return written


async def run_span_purger(
    engine: AsyncEngine,
    *,
    max_future: timedelta,
    interval_seconds: float = 3600,
    publish: bool = False,
) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            async with engine.begin() as conn:
                await state_tenant(conn, None)
                await write_rootless_traces(conn, max_future=max_future, publish=publish)
                purged = await repository.delete_spans_received_before(
                    conn, seconds_ago=STAGED_SPAN_TTL_SECONDS
                )
            if purged:
                # Spans whose trace never got a root (docs/ingest.md): said, not silent.
                logger.warning(
                    "purged %d staged spans whose trace got no root in %d hours",
                    purged,
                    STAGED_SPAN_TTL_SECONDS // 3600,
                )
        except Exception as exc:  # retried at the next interval
            logger.warning("could not purge staged spans: %s", type(exc).__name__)

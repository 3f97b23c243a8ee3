"""Traces into workflow logs. The root span is the run; its descendants, in start
order, are the steps of `payload.trace`. Spans are staged, so a trace whose spans
arrive in several requests, in any order, ends up as one whole log: it is written
when its root arrives and its trace is refreshed as later spans come."""

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
    ENVIRONMENT_KEYS,
    METRIC_PREFIX,
    RESOLUTION_KEY,
    SERVICE_NAME_KEY,
    STATUS_CODE_ERROR,
    STATUS_KEY,
    STEP_INPUT_KEY,
    STEP_OUTPUT_KEY,
    TICKET_KEY,
    VERSION_KEYS,
    Span,
)

logger = logging.getLogger(__name__)

# Spans of a trace whose root never came are kept this long.
STAGED_SPAN_TTL_SECONDS = 24 * 3600
_OURS = {TICKET_KEY, CATEGORY_KEY, RESOLUTION_KEY, STATUS_KEY, STEP_INPUT_KEY, STEP_OUTPUT_KEY}


def _first(attributes: Mapping[str, Any], keys: Sequence[str]) -> Any:
    return next((attributes[k] for k in keys if attributes.get(k) not in (None, "")), None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _time(unix_nano: int) -> datetime:
    return datetime.fromtimestamp(unix_nano / 1e9, UTC)


def _step(span: Mapping[Any, Any]) -> dict[str, Any]:
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
    }
    if failed:
        step["error"] = span["status_message"] or "error"
    return step


def log_of_trace(spans: Sequence[Mapping[Any, Any]]) -> dict[str, Any] | None:
    """The workflow log of one trace's spans, or None while its root has not arrived."""
    roots = [s for s in spans if s["parent_span_id"] is None]
    if not roots:
        return None
    root = roots[0]
    attributes: dict[str, Any] = root["attributes"]
    resource: dict[str, Any] = root["resource"]
    if attributes.get(STATUS_KEY):
        status = str(attributes[STATUS_KEY])
    else:
        status = "ERROR" if root["status_code"] == STATUS_CODE_ERROR else "SUCCESS"
    metrics = {
        key.removeprefix(METRIC_PREFIX): value
        for key, value in attributes.items()
        if key.startswith(METRIC_PREFIX)
    }
    return {
        "id": str(uuid.UUID(hex=root["trace_id"])),
        "environment": _text(_first(resource, ENVIRONMENT_KEYS)) or DEFAULT_ENVIRONMENT,
        "workflow_version": _text(_first(resource, VERSION_KEYS)),
        "executed_at": _time(root["start_unix_nano"]).isoformat(),
        "execution_time_seconds": (root["end_unix_nano"] - root["start_unix_nano"]) / 1e9,
        "status": status,
        "ticket_id": _text(attributes.get(TICKET_KEY)),
        "category": _text(attributes.get(CATEGORY_KEY)),
        "resolution_status": _text(attributes.get(RESOLUTION_KEY)),
        "metrics": metrics or None,
        "payload": {
            "trace": [_step(s) for s in spans if s is not root],
            "otel": {
                "trace_id": root["trace_id"],
                "root_span": root["name"],
                "service_name": resource.get(SERVICE_NAME_KEY),
                "attributes": {k: v for k, v in attributes.items() if k not in _OURS},
                **({"status_message": root["status_message"]} if root["status_message"] else {}),
            },
        },
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
    await logs_service.store_trace_logs(conn, client_id=client_id, rows=whole)
    return refused


async def run_span_purger(engine: AsyncEngine, *, interval_seconds: float = 3600) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            async with engine.begin() as conn:
                await state_tenant(conn, None)
                await repository.delete_spans_received_before(
                    conn, seconds_ago=STAGED_SPAN_TTL_SECONDS
                )
        except Exception as exc:  # retried at the next interval
            logger.warning("could not purge staged spans: %s", type(exc).__name__)

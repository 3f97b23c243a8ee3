"""From an ingestion body's JSON text to rows: parse, check, validate. Synchronous and
self-contained, so that a worker process can run it (`http.offload`): the arguments and
results are plain data that pickle cheaply. A row travels as a tuple (its id as 16
bytes, its JSON as text), an item's errors as (field, reason) pairs; the event loop
turns them back into `LogRow`s (`unpack`), a fraction of what parsing them cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from central_logger.http.body import parse_json
from central_logger.http.json_checks import JsonLimits
from central_logger.http.problems import FieldError, ProblemError, validation_problem
from central_logger.logs.models import LogRow
from central_logger.logs.validation import to_row

# LogRow's fields in order, the id as its 16 bytes.
PackedRow = tuple[
    bytes,
    str,
    str | None,
    str | None,
    datetime,
    float | None,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
]
Errors = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class PreparedLog:
    row: PackedRow | None
    errors: Errors


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    size: int
    # (index, row) of each valid item, and (index, errors) of each refused one.
    rows: list[tuple[int, PackedRow]]
    rejected: list[tuple[int, Errors]]


def _pack(row: LogRow) -> PackedRow:
    return (
        row.id.bytes,
        row.environment,
        row.workflow_version,
        row.ticket_id,
        row.executed_at,
        row.execution_time_seconds,
        row.status,
        row.category,
        row.resolution_status,
        row.metrics_json,
        row.payload_json,
    )


def unpack(packed: PackedRow) -> LogRow:
    return LogRow(UUID(bytes=packed[0]), *packed[1:])


def _pairs(errors: list[FieldError]) -> Errors:
    return [(e.field, e.reason) for e in errors]


def batch_items(body: Any, *, max_batch_size: int) -> list[Any]:
    """The items of `{"logs": [...]}` or of a bare array."""
    if isinstance(body, dict):
        unknown = sorted(set(body) - {"logs"})
        if unknown:
            raise validation_problem(
                [FieldError(field=name, reason="unknown field") for name in unknown]
            )
        body = body.get("logs")
        if not isinstance(body, list):
            raise validation_problem([FieldError(field="logs", reason="must be an array of logs")])
    elif not isinstance(body, list):
        raise validation_problem(
            [FieldError(field="body", reason='must be {"logs": [...]} or an array of logs')]
        )
    if len(body) > max_batch_size:
        raise ProblemError(
            413,
            f"A batch holds at most {max_batch_size} logs; this one has {len(body)}",
            errors=[FieldError(field="logs", reason=f"more than {max_batch_size} items")],
        )
    return body


def prepare_log(
    text: bytes, limits: JsonLimits, max_future: timedelta, max_age: timedelta | None = None
) -> PreparedLog:
    """One log's row, or the errors that refuse it; a `ProblemError` for the body.
    `max_age`: the tenant's retention (logs/validation.to_row)."""
    body = parse_json(text, limits)
    row = to_row(body.value, check_nul=body.may_contain_nul, max_future=max_future, max_age=max_age)
    if isinstance(row, LogRow):
        return PreparedLog(_pack(row), [])
    return PreparedLog(None, _pairs(row))


def prepare_batch(
    text: bytes,
    limits: JsonLimits,
    max_batch_size: int,
    max_future: timedelta,
    max_age: timedelta | None = None,
) -> PreparedBatch:
    """Every item's row or errors; a `ProblemError` for the body as a whole."""
    body = parse_json(text, limits)
    items = batch_items(body.value, max_batch_size=max_batch_size)
    now = datetime.now(UTC)
    rows: list[tuple[int, PackedRow]] = []
    rejected: list[tuple[int, Errors]] = []
    for index, item in enumerate(items):
        row = to_row(
            item, check_nul=body.may_contain_nul, max_future=max_future, now=now, max_age=max_age
        )
        if isinstance(row, LogRow):
            rows.append((index, _pack(row)))
        else:
            rejected.append((index, _pairs(row)))
    return PreparedBatch(len(items), rows, rejected)

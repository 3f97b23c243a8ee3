"""Turning one untrusted JSON item into a row, or into the reasons it is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import uuid_utils
from pydantic import ValidationError

from central_logger.http.json_checks import nul_path
from central_logger.http.problems import FieldError, field_errors
from central_logger.logs.models import LogRow
from central_logger.logs.schemas import LogCreate

# The JSON parser keeps integers from -2^63 to 2^64 - 1 exactly and turns any other
# into a double, silently rounded (2^64 + 1 would be stored as 2^64). In metrics,
# numbers meant to be counted, a number beyond that range is refused rather than kept
# wrong; as a double it would be beyond exact integers anyway.
# A double at either bound itself can only be a rounded larger integer (the bounds
# themselves parse as integers), hence the strict comparisons.
_BELOW_EXACT_INTEGERS = -(2**63)
_ABOVE_EXACT_INTEGERS = 2**64


def _inexact_number_path(value: Any, path: str) -> str | None:
    """The path of the first number outside the exact integer range, or None.
    Iterative, so a deep value costs no recursion."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, float):
            if not _BELOW_EXACT_INTEGERS < item < _ABOVE_EXACT_INTEGERS:
                return where
        elif isinstance(item, dict):
            stack.extend((child, f"{where}.{key}") for key, child in item.items())
        elif isinstance(item, list):
            stack.extend((child, f"{where}.{index}") for index, child in enumerate(item))
    return None


def new_log_id() -> uuid.UUID:
    """Time-ordered (UUIDv7), so server-made ids append to the primary key index."""
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)


def _json_text(value: dict[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def to_row(
    item: Any,
    *,
    check_nul: bool,
    max_future: timedelta,
    now: datetime | None = None,
    max_age: timedelta | None = None,
) -> LogRow | list[FieldError]:
    """A validated row, or the field errors that refuse it. `max_age`: the tenant's
    retention; an older log would be deleted by the next retention run, so it is refused
    rather than acknowledged and then lost."""
    if check_nul:
        path = nul_path(item)
        if path is not None:
            field = ".".join(str(part) for part in path) or "body"
            return [FieldError(field=field, reason="must not contain NUL characters (\\u0000)")]
    try:
        log = LogCreate.model_validate(item)
    except ValidationError as exc:
        return field_errors(exc.errors())
    if log.metrics is not None:
        inexact = _inexact_number_path(log.metrics, "metrics")
        if inexact is not None:
            return [
                FieldError(
                    field=inexact,
                    reason="is beyond the 64-bit integers (-2^63 .. 2^64-1) and cannot be"
                    " kept exactly; send it as a string",
                )
            ]
    now = now or datetime.now(UTC)
    if max_age is not None and log.executed_at < now - max_age:
        return [
            FieldError(
                field="executed_at",
                reason=f"is older than this client's retention of {max_age.days} days"
                f" (logs executed before {(now - max_age).isoformat(timespec='seconds')}"
                " are deleted)",
            )
        ]
    latest = now + max_future
    if log.executed_at > latest:
        return [
            FieldError(
                field="executed_at",
                reason=f"is more than {int(max_future.total_seconds())} s in the future",
            )
        ]
    return LogRow(
        id=log.id or new_log_id(),
        environment=log.environment,
        workflow_version=log.workflow_version,
        ticket_id=log.ticket_id,
        executed_at=log.executed_at,
        execution_time_seconds=log.execution_time_seconds,
        status=log.status,
        category=log.category,
        resolution_status=log.resolution_status,
        metrics_json=_json_text(log.metrics),
        payload_json=_json_text(log.payload),
    )

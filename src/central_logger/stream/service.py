"""The live tail's rules: who may open a stream, on which logs. Knows no HTTP framework."""

from __future__ import annotations

from central_logger.auth.tenancy import Tenancy
from central_logger.http.problems import FieldError, ProblemError
from central_logger.logs import service as logs_service
from central_logger.logs.schemas import LogFilters
from central_logger.stream.hub import LiveHub, StreamRefusedError, Subscription


def open_stream(
    hub: LiveHub | None,
    *,
    key: str,
    tenancy: Tenancy,
    filters: LogFilters,
    last_event_id: str | None,
    retry_after_seconds: int,
) -> Subscription:
    """A subscription to the logs `filters` match (the list's own filter object, so a
    filter the list gains reaches the stream: `logs/matching.py`), for the tenant the
    key may read (an admin key: one client, or every one)."""
    if hub is None:
        raise ProblemError(404, "The live tail is turned off on this service (LIVE_TAIL_ENABLED)")
    # The list's text search (`q`, another branch's) matches words of the whole log,
    # payload included, which a summary does not carry: until `logs/matching.py` tests
    # it, a stream refuses it rather than ignore it.
    if getattr(filters, "q", None) is not None:
        raise ProblemError(
            422,
            "The live tail cannot search text yet",
            errors=[FieldError(field="query.q", reason="not supported on the stream")],
        )
    try:
        return hub.subscribe(
            key=key, query=logs_service.log_query(tenancy, filters), last_event_id=last_event_id
        )
    except StreamRefusedError as exc:
        if exc.reason == "key":
            detail = f"This API key has {exc.limit} streams open here already (STREAM_MAX_PER_KEY)"
        else:
            detail = f"This service process serves {exc.limit} streams already, or is stopping"
        raise ProblemError(
            429,
            detail,
            errors=[FieldError(field="rate.streams", reason=f"at most {exc.limit}")],
            headers={"Retry-After": str(retry_after_seconds)},
        ) from exc

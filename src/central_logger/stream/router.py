"""GET /api/v1/logs/stream: stored logs as Server-Sent Events (FastAPI's own SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.sse import EventSourceResponse, ServerSentEvent

from central_logger.auth.dependencies import ReadPrincipal
from central_logger.auth.tenancy import read_tenancy
from central_logger.http.dependencies import State
from central_logger.http.problems import PROBLEM_RESPONSES
from central_logger.logs.events import LogEvent
from central_logger.logs.schemas import LogFilters
from central_logger.stream import service
from central_logger.stream.hub import Closed, Gap, Missed, Subscription

router = APIRouter(prefix="/api/v1", tags=["logs"], responses=PROBLEM_RESPONSES)

# What a client waits before it reconnects (ms), sent with the first event.
RECONNECT_MS = 1000


async def live_subscription(
    params: Annotated[LogFilters, Query()],
    state: State,
    principal: ReadPrincipal,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", max_length=128, description="Resume after this event"),
    ] = None,
) -> AsyncIterator[Subscription]:
    """Taken before the answer starts (so a refusal is a 429), given back when the
    stream ends, however it ends."""
    subscription = service.open_stream(
        state.live_hub,
        # A key's prefix is unique among stored keys; keys from API_KEYS may share one,
        # so the client (and whether admin) tell them apart too.
        key=f"{principal.client_id}\x00{principal.is_admin}\x00{principal.key_prefix}",
        tenancy=read_tenancy(principal, params.client_id),
        filters=params,
        last_event_id=last_event_id,
        retry_after_seconds=state.settings.retry_after_seconds,
    )
    try:
        yield subscription
    finally:
        if state.live_hub is not None:
            state.live_hub.unsubscribe(subscription)


LiveSubscription = Annotated[Subscription, Depends(live_subscription)]


@router.get(
    "/logs/stream",
    operation_id="stream_logs",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "Events: `ready` first; `log` (a summary, with an id for "
            "Last-Event-ID) per stored log that matches; `missed` (how many were dropped "
            "for a slow reader); `gap` (a resume point not held); `bye` (the service stops)"
        }
    },
)
async def stream_logs(subscription: LiveSubscription) -> AsyncIterable[ServerSentEvent]:
    yield ServerSentEvent(event="ready", raw_data="{}", retry=RECONNECT_MS)
    while True:
        item = await subscription.next()
        if isinstance(item, LogEvent):
            yield ServerSentEvent(event="log", id=item.id, raw_data=item.data)
        elif isinstance(item, Missed):
            yield ServerSentEvent(event="missed", data={"missed": item.count})
        elif isinstance(item, Gap):
            yield ServerSentEvent(
                event="gap", data={"last_event_id": item.last_event_id, "detail": item.reason}
            )
        elif isinstance(item, Closed):
            yield ServerSentEvent(event="bye", data={"detail": "the service is stopping"})
            return

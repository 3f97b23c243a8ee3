"""GET /api/v1/logs/stream: stored logs as Server-Sent Events (FastAPI's SSE encoding)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Query
from fastapi.sse import EventSourceResponse, format_sse_event
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from central_logger.auth.dependencies import ReadPrincipal
from central_logger.auth.tenancy import read_tenancy
from central_logger.http.dependencies import State
from central_logger.http.problems import PROBLEM_RESPONSES
from central_logger.logs.events import LogEvent
from central_logger.logs.schemas import LogFilters
from central_logger.stream import service
from central_logger.stream.hub import Closed, Gap, LiveHub, Missed, StreamItem, Subscription

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
) -> Subscription:
    """Taken before the answer starts, so a refusal is a 429."""
    return service.open_stream(
        state.live_hub,
        # A key's prefix is unique among stored keys; keys from API_KEYS may share one,
        # so the client (and whether admin) tell them apart too.
        key=f"{principal.client_id}\x00{principal.is_admin}\x00{principal.key_prefix}",
        tenancy=read_tenancy(principal, params.client_id),
        filters=params,
        last_event_id=last_event_id,
        retry_after_seconds=state.settings.retry_after_seconds,
    )


LiveSubscription = Annotated[Subscription, Depends(live_subscription)]


# Items sent in one write at most: a stream catching up sends its backlog in a few
# large writes instead of one per event (per-event writes capped a 2-core machine at a
# few thousand events a second across 20 streams).
_BATCH_ITEMS = 500
_PING = b": ping\n\n"
PING_SECONDS = 15.0


def _encoded(item: StreamItem) -> bytes:
    if isinstance(item, LogEvent):
        return format_sse_event(event="log", id=item.id, data_str=item.data)
    if isinstance(item, Missed):
        return format_sse_event(
            event="missed", data_str=orjson.dumps({"missed": item.count}).decode()
        )
    if isinstance(item, Gap):
        data = {"last_event_id": item.last_event_id, "detail": item.reason}
        return format_sse_event(event="gap", data_str=orjson.dumps(data).decode())
    return format_sse_event(event="bye", data_str='{"detail":"the service is stopping"}')


async def _event_stream(hub: LiveHub, subscription: Subscription) -> AsyncIterator[bytes]:
    try:
        async for chunk in _events(subscription):
            yield chunk
    finally:
        hub.unsubscribe(subscription)


async def _events(subscription: Subscription) -> AsyncIterator[bytes]:
    yield format_sse_event(event="ready", data_str="{}", retry=RECONNECT_MS)
    while True:
        try:
            item = await asyncio.wait_for(subscription.next(), PING_SECONDS)
        except TimeoutError:
            yield _PING  # keeps proxies from closing a quiet stream
            continue
        parts = [_encoded(item)]
        while not isinstance(item, Closed) and len(parts) < _BATCH_ITEMS:
            ready = subscription.next_ready()
            if ready is None:
                break
            parts.append(_encoded(ready))
        yield b"".join(parts)
        if isinstance(item, Closed):
            return


@router.get(
    "/logs/stream",
    operation_id="stream_logs",
    # The response is built by hand (below), so FastAPI's own per-event SSE path, which
    # `response_class=EventSourceResponse` would select, is not used.
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Events: `ready` first; `log` (a summary, with an id for "
            "Last-Event-ID) per stored log that matches; `missed` (how many were dropped "
            "for a slow reader); `gap` (a resume point not held); `bye` (the service stops)",
        }
    },
)
async def stream_logs(subscription: LiveSubscription, state: State) -> EventSourceResponse:
    """The subscription is given back when the stream ends, however it ends: by the
    stream itself, and (should the client leave before it starts) after the response."""
    hub = state.live_hub
    assert hub is not None  # open_stream refused otherwise
    return EventSourceResponse(
        _event_stream(hub, subscription),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(hub.unsubscribe, subscription),
    )

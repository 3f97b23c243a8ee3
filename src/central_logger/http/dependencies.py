"""Typed dependencies every router uses.

The rule every database dependency keeps: **no request holds a database connection
while it waits on the network.** A connection is a pooled, shared resource (a few per
worker); a client is not. So:

- the request's body is received in full (`ReceivedBody`, bounded by MAX_BODY_BYTES)
  before a connection is taken: the connection dependencies depend on it, so no route
  can take a connection and then wait for a slow upload, whatever the order of its
  parameters;
- the transaction is committed and the connection returned when the handler returns,
  before the response is sent (`scope="function"`): a slow reader of a large page holds
  a socket, never a connection.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from central_logger.http.body import receive
from central_logger.http.state import AppState


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in a
# thread pool, a thread hand-off per request for a single attribute read.
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.central_logger
    return state


State = Annotated[AppState, Depends(get_state)]


async def receive_body(request: Request, state: State) -> bytes:
    """The whole request body, read before anything shared is taken (at most
    MAX_BODY_BYTES; more is a 413). Handlers that read the body themselves
    (`http.body.read_json`, `read_raw`) then get these bytes back without waiting."""
    body = await receive(request, max_bytes=state.settings.max_body_bytes)
    # Starlette replays `_body` to every later `request.stream()` / `body()` of this
    # request (it is what `Request.body()` itself keeps), so the handler's own reader
    # sees the same bytes; FastAPI passes this Request object to the handler too.
    request._body = body
    return body


ReceivedBody = Annotated[bytes, Depends(receive_body)]

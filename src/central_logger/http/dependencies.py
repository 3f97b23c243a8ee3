"""Typed dependencies every router uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.http.state import AppState
from central_logger.settings import Settings


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in a
# thread pool, a thread hand-off per request for a single attribute read.
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.central_logger
    return state


State = Annotated[AppState, Depends(get_state)]


async def get_settings(state: State) -> Settings:
    return state.settings


async def get_conn(state: State) -> AsyncIterator[AsyncConnection]:
    """One transaction per request, committed when the handler returns and before the
    response is sent, so a 2xx always means committed."""
    async with state.engine.begin() as conn:
        yield conn


CurrentSettings = Annotated[Settings, Depends(get_settings)]
Conn = Annotated[AsyncConnection, Depends(get_conn, scope="function")]

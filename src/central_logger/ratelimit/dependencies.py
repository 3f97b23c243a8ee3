"""The ingestion dependencies: a request of the key's budget spent first, and the
tenant's turn at ingestion work (ratelimit/concurrency.py) held while the handler runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request

from central_logger.auth.dependencies import IngestPrincipal
from central_logger.auth.schemas import Principal
from central_logger.auth.tenancy import ingest_client_id
from central_logger.http.dependencies import ReceivedBody, State
from central_logger.ratelimit.schemas import Budget

# A single log this small is a fraction of a millisecond of work: left out of the turn,
# so a tenant's many small sends overlap.
UNBUDGETED_BODY_BYTES = 64 * 1024


async def limit_ingest(state: State, principal: IngestPrincipal) -> Principal:
    await state.rate_limiter.charge(principal, Budget.REQUESTS)
    return principal


LimitedIngestPrincipal = Annotated[Principal, Depends(limit_ingest)]


def _ingest_turn(*, above_bytes: int) -> Callable[..., AsyncIterator[None]]:
    async def take_turn(
        request: Request, state: State, principal: LimitedIngestPrincipal, body: ReceivedBody
    ) -> AsyncIterator[None]:
        """The tenant's turn, taken once the body has arrived (`ReceivedBody`) and held
        until the handler returns (its rows committed), when the body is over
        `above_bytes`. An admin writing on a client's behalf takes that client's turn."""
        if len(body) <= above_bytes:
            yield
            return
        tenant = ingest_client_id(principal, request.query_params.get("client_id"))
        async with state.rate_limiter.ingest_work.slot(tenant):
            yield

    return take_turn


# Batches and OTLP exports: always budgeted work (declare before any dependency that
# parses the body, which FastAPI then resolves after the turn is taken).
IngestTurn = Annotated[None, Depends(_ingest_turn(above_bytes=-1), scope="function")]
# Single logs: only a large body takes the turn.
LargeBodyIngestTurn = Annotated[
    None, Depends(_ingest_turn(above_bytes=UNBUDGETED_BODY_BYTES), scope="function")
]

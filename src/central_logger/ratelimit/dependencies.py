"""The ingestion dependency that spends a request of the key's budget first."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from central_logger.auth.dependencies import IngestPrincipal
from central_logger.auth.schemas import Principal
from central_logger.http.dependencies import State
from central_logger.ratelimit.schemas import Budget


async def limit_ingest(state: State, principal: IngestPrincipal) -> Principal:
    await state.rate_limiter.charge(principal, Budget.REQUESTS)
    return principal


LimitedIngestPrincipal = Annotated[Principal, Depends(limit_ingest)]

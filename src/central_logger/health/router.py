"""GET /health: no key; 503 while the database does not answer."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy import text
from starlette.responses import Response

from central_logger.http.dependencies import State
from central_logger.http.responses import ORJSONResponse

router = APIRouter(tags=["health"])

_PROBE_TIMEOUT_SECONDS = 2.0


@router.get("/health", operation_id="get_health")
async def get_health(state: State) -> Response:
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT_SECONDS), state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # any failure to answer is "unavailable", whatever its cause
        return ORJSONResponse(
            {
                "status": "degraded",
                "service": state.settings.service_name,
                "database": "unavailable",
            },
            status_code=503,
            headers={"Retry-After": str(state.settings.retry_after_seconds)},
        )
    body = {"status": "ok", "service": state.settings.service_name, "database": "ok"}
    if state.read_replica is not None:
        # Reported, never failing the check: reads fall back to the primary.
        body["read_replica"] = state.read_replica.status.value
    return ORJSONResponse(body)

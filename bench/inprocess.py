"""The service's own metrics code timed in-process, without HTTP: the same transaction
(tenant stated, one statement per view) the endpoint runs, so it compares with the
naive SQL like for like. The HTTP figure adds the web stack on top."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from bench.load import Latency, percentiles
from central_logger.auth.tenancy import Tenancy
from central_logger.db.engine import create_engine
from central_logger.db.tenancy import state_tenant
from central_logger.metrics import service
from central_logger.metrics.schemas import RangeParams
from central_logger.settings import Settings


async def metrics_latency(
    url: str, *, endpoint: str, client_id: str, start: datetime, end: datetime, requests: int = 100
) -> Latency:
    view: Any = service.overview if endpoint == "overview" else service.categories
    params = RangeParams.model_validate({"from": start, "to": end})

    engine = create_engine(Settings(_env_file=None), url)  # type: ignore[call-arg]
    samples = []
    try:
        for attempt in range(requests + 5):
            started = time.perf_counter()
            async with engine.begin() as conn:
                await state_tenant(conn, client_id)
                await view(conn, tenancy=Tenancy(client_id), params=params)
            if attempt >= 5:  # the first ones warm the connection and the caches
                samples.append((time.perf_counter() - started) * 1000)
    finally:
        await engine.dispose()
    return percentiles(samples)

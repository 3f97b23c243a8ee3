"""HTTP for the metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from central_logger.auth.dependencies import ReadPrincipal, ReplicaReadConn
from central_logger.auth.tenancy import read_tenancy
from central_logger.http.problems import PROBLEM_RESPONSES
from central_logger.http.responses import ORJSONResponse
from central_logger.metrics import service
from central_logger.metrics.schemas import Categories, Overview, RangeParams

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"], responses=PROBLEM_RESPONSES)

Range = Annotated[RangeParams, Query()]


@router.get("/overview", operation_id="get_metrics_overview", response_model=Overview)
async def get_metrics_overview(
    params: Range, conn: ReplicaReadConn, principal: ReadPrincipal
) -> Response:
    result = await service.overview(
        conn, tenancy=read_tenancy(principal, params.client_id), params=params
    )
    return ORJSONResponse(result.model_dump(mode="json", by_alias=True))


@router.get("/categories", operation_id="get_metrics_categories", response_model=Categories)
async def get_metrics_categories(
    params: Range, conn: ReplicaReadConn, principal: ReadPrincipal
) -> Response:
    result = await service.categories(
        conn, tenancy=read_tenancy(principal, params.client_id), params=params
    )
    return ORJSONResponse(result.model_dump(mode="json", by_alias=True))

"""HTTP for the insights."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from central_logger.auth.dependencies import ReadPrincipal, ReplicaReadConn
from central_logger.auth.tenancy import read_tenancy
from central_logger.http.problems import PROBLEM_RESPONSES
from central_logger.http.responses import ORJSONResponse
from central_logger.insights import service
from central_logger.insights.schemas import (
    Anomalies,
    AnomalyParams,
    InsightsRangeParams,
    PatternParams,
    Patterns,
    Trends,
    VersionParams,
    Versions,
)

router = APIRouter(prefix="/api/v1/insights", tags=["insights"], responses=PROBLEM_RESPONSES)


@router.get("/versions", operation_id="get_insights_versions", response_model=Versions)
async def get_insights_versions(
    params: Annotated[VersionParams, Query()], conn: ReplicaReadConn, principal: ReadPrincipal
) -> Response:
    result = await service.versions(
        conn, tenancy=read_tenancy(principal, params.client_id), params=params
    )
    return ORJSONResponse(result.model_dump(mode="json", by_alias=True))


@router.get("/trends", operation_id="get_insights_trends", response_model=Trends)
async def get_insights_trends(
    params: Annotated[InsightsRangeParams, Query()],
    conn: ReplicaReadConn,
    principal: ReadPrincipal,
) -> Response:
    result = await service.trends(
        conn, tenancy=read_tenancy(principal, params.client_id), params=params
    )
    return ORJSONResponse(result.model_dump(mode="json", by_alias=True))


@router.get("/anomalies", operation_id="get_insights_anomalies", response_model=Anomalies)
async def get_insights_anomalies(
    params: Annotated[AnomalyParams, Query()], conn: ReplicaReadConn, principal: ReadPrincipal
) -> Response:
    result = await service.anomalies(
        conn, tenancy=read_tenancy(principal, params.client_id), params=params
    )
    return ORJSONResponse(result.model_dump(mode="json", by_alias=True))


@router.get("/patterns", operation_id="get_insights_patterns", response_model=Patterns)
async def get_insights_patterns(
    params: Annotated[PatternParams, Query()], conn: ReplicaReadConn, principal: ReadPrincipal
) -> Response:
    result = await service.patterns(
        conn, tenancy=read_tenancy(principal, params.client_id), params=params
    )
    return ORJSONResponse(result.model_dump(mode="json", by_alias=True))

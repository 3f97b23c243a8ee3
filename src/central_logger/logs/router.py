"""HTTP for logs: parse, call one service function, shape the response."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, status
from starlette.responses import Response, StreamingResponse

from central_logger.auth.dependencies import (
    AdminPrincipal,
    ReadConn,
    ReadPrincipal,
    ReplicaReadConn,
    primary_read,
    served_by_replica,
)
from central_logger.auth.tenancy import ingest_client_id, read_tenancy
from central_logger.http.body import json_limits, json_text
from central_logger.http.dependencies import State
from central_logger.http.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_RESPONSES,
    Problem,
    ProblemError,
)
from central_logger.http.query import QueryText
from central_logger.http.responses import ORJSONResponse
from central_logger.logs import export, service
from central_logger.logs.schemas import (
    BatchResult,
    ClientList,
    IngestResult,
    LogCreate,
    LogDetail,
    LogExportParams,
    LogListParams,
    LogPage,
    LogValues,
    LogValuesParams,
)
from central_logger.ratelimit.dependencies import (
    IngestTurn,
    LargeBodyIngestTurn,
    LimitedIngestPrincipal,
)
from central_logger.ratelimit.schemas import Budget

router = APIRouter(prefix="/api/v1", tags=["logs"], responses=PROBLEM_RESPONSES)

OnBehalfOf = Annotated[
    QueryText | None, Query(description="Admin keys only: ingest for this client")
]


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    # The body is read by hand (size, gzip, JSON syntax first); document it anyway.
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_BATCH_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"logs": {"type": "array", "items": LogCreate.model_json_schema()}},
            "required": ["logs"],
            "additionalProperties": False,
        },
        {"type": "array", "items": LogCreate.model_json_schema()},
    ]
}


@router.post(
    "/logs",
    operation_id="create_log",
    status_code=status.HTTP_201_CREATED,
    response_model=IngestResult,
    responses={200: {"model": IngestResult, "description": "Replay of a stored id"}},
    openapi_extra=_json_body(LogCreate.model_json_schema()),
)
async def create_log(
    request: Request,
    principal: LimitedIngestPrincipal,
    state: State,
    _turn: LargeBodyIngestTurn,
    client_id: OnBehalfOf = None,
) -> Response:
    settings = state.settings
    tenant = ingest_client_id(principal, client_id)
    prepared = await service.prepare_log(
        state.offload,
        await json_text(request, max_bytes=settings.max_body_bytes),
        limits=json_limits(settings),
        max_future=timedelta(seconds=settings.max_future_seconds),
        max_age=state.retention.max_age(tenant),
    )
    await state.rate_limiter.charge(principal, Budget.LOGS)
    result = await service.store_log(state.log_writer, client_id=tenant, prepared=prepared)
    return ORJSONResponse(
        result.model_dump(mode="json"), status_code=200 if result.duplicate else 201
    )


@router.post(
    "/logs/batch",
    operation_id="create_log_batch",
    response_model=BatchResult,
    openapi_extra=_json_body(_BATCH_SCHEMA),
)
async def create_log_batch(
    request: Request,
    principal: LimitedIngestPrincipal,
    state: State,
    _turn: IngestTurn,
    client_id: OnBehalfOf = None,
) -> Response:
    settings = state.settings
    tenant = ingest_client_id(principal, client_id)
    prepared = await service.prepare_batch(
        state.offload,
        await json_text(request, max_bytes=settings.max_body_bytes),
        limits=json_limits(settings),
        max_batch_size=settings.max_batch_size,
        max_future=timedelta(seconds=settings.max_future_seconds),
        max_age=state.retention.max_age(tenant),
    )
    await state.rate_limiter.charge(principal, Budget.LOGS, prepared.size)
    result = await service.store_batch(state.log_writer, client_id=tenant, prepared=prepared)
    return ORJSONResponse(result)


@router.get("/logs", operation_id="list_logs", response_model=LogPage)
async def list_logs(
    params: Annotated[LogListParams, Query()],
    conn: ReplicaReadConn,
    state: State,
    principal: ReadPrincipal,
) -> Response:
    page = await service.list_logs(
        conn,
        tenancy=read_tenancy(principal, params.client_id),
        params=params,
        count_limit=state.settings.count_limit,
    )
    return ORJSONResponse(page)


# Before /logs/{log_id}, which would take "values" for an id.
@router.get("/logs/values", operation_id="list_log_values", response_model=LogValues)
async def list_log_values(
    params: Annotated[LogValuesParams, Query()],
    conn: ReplicaReadConn,
    principal: ReadPrincipal,
) -> Response:
    values = await service.list_values(
        conn, tenancy=read_tenancy(principal, params.client_id), field=params.field
    )
    return ORJSONResponse(values.model_dump(mode="json"))


@router.get(
    "/logs/export",
    operation_id="export_logs",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The matching logs as a file: JSONL (whole logs) or CSV (list columns)",
            "content": {"application/x-ndjson": {}, "text/csv": {}},
        }
    },
)
async def export_logs(
    request: Request,
    params: Annotated[LogExportParams, Query()],
    state: State,
    principal: ReadPrincipal,
) -> StreamingResponse:
    tenancy = read_tenancy(principal, params.client_id)
    export.start_position(params)  # a bad cursor is a 422 before the file starts
    if principal.is_admin:
        state.audit.admin_read(
            key_prefix=principal.key_prefix,
            client_id=tenancy.client_id,
            remote_addr=request.client.host if request.client else None,
            path=request.url.path,
        )
    body = export.export_logs(
        export.read_transaction(state.engine, state.rate_limiter.reads, tenancy.client_id),
        tenancy=tenancy,
        params=params,
        max_rows=state.settings.export_max_rows,
    )
    name = export.filename(params, datetime.now(UTC))
    return StreamingResponse(
        body,
        media_type=export.MEDIA_TYPES[params.format],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Export-Max-Rows": str(state.settings.export_max_rows),
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/logs/{log_id}",
    operation_id="get_log",
    response_model=LogDetail,
    responses={
        409: {
            "model": Problem,
            "description": "An admin key without client_id, for an id two clients use",
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    },
)
async def get_log(
    request: Request,
    state: State,
    log_id: UUID,
    conn: ReplicaReadConn,
    principal: ReadPrincipal,
    client_id: OnBehalfOf = None,
) -> Response:
    tenancy = read_tenancy(principal, client_id)
    try:
        log = await service.get_log(conn, tenancy=tenancy, log_id=log_id)
    except ProblemError as exc:
        # A log just sent may not have reached the replica yet: the primary has it.
        if exc.status != 404 or not served_by_replica(request):
            raise
        async with primary_read(request, state, principal) as primary:
            log = await service.get_log(primary, tenancy=tenancy, log_id=log_id)
    return ORJSONResponse(log.model_dump(mode="json"))


@router.get("/clients", operation_id="list_clients", response_model=ClientList)
async def list_clients(conn: ReadConn, state: State, _: AdminPrincipal) -> ClientList:
    return await service.list_clients(conn, configured=state.key_store.configured_client_ids())

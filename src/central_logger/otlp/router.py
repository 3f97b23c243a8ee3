"""POST /v1/traces: OTLP/HTTP, protobuf or JSON, optionally gzip-compressed."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from central_logger.auth.dependencies import TenantConn
from central_logger.http.body import read_raw
from central_logger.http.dependencies import ReceivedBody, State
from central_logger.http.problems import FieldError, ProblemError
from central_logger.otlp import codec, service
from central_logger.otlp.schemas import Decoded
from central_logger.ratelimit.dependencies import IngestTurn, LimitedIngestPrincipal
from central_logger.ratelimit.schemas import Budget

router = APIRouter(tags=["opentelemetry"])

_MEDIA_TYPES = {codec.PROTOBUF, codec.JSON}


async def decode_export(request: Request, state: State, _body: ReceivedBody) -> Decoded | Response:
    """The export's spans, or the 400 to answer in the request's own encoding.

    A dependency so that it runs before the connection is taken: decoding a large
    export is CPU work no pooled connection should wait on. The handler declares the
    tenant's ingestion turn before it, so the decode happens in that turn; a large
    export is decoded in a worker process, off the event loop (`http.offload`)."""
    media_type = _media_type(request)
    if media_type not in _MEDIA_TYPES:
        raise ProblemError(
            415,
            "OTLP/HTTP takes application/x-protobuf or application/json",
            errors=[FieldError(field="header.content-type", reason="unsupported media type")],
        )
    body = await read_raw(request, max_bytes=state.settings.max_body_bytes)
    try:
        return await state.offload.run(len(body), codec.decode, body, media_type)
    except codec.MalformedRequestError as exc:
        return Response(codec.error_status(media_type, str(exc)), 400, media_type=media_type)


def _media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


# Declared before the connection in the handler: FastAPI resolves in that order.
DecodedExport = Annotated[Decoded | Response, Depends(decode_export)]


@router.post(
    "/v1/traces",
    operation_id="export_traces",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                codec.PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
                codec.JSON: {"schema": {"type": "object"}},
            },
        }
    },
    responses={200: {"description": "ExportTraceServiceResponse, in the request's encoding"}},
)
async def export_traces(
    request: Request,
    principal: LimitedIngestPrincipal,
    _turn: IngestTurn,
    decoded: DecodedExport,
    conn: TenantConn,
    state: State,
) -> Response:
    if isinstance(decoded, Response):
        return decoded
    await state.rate_limiter.charge(principal, Budget.LOGS, max(1, len(decoded.spans)))
    refused = await service.ingest_spans(
        conn,
        client_id=principal.client_id,
        spans=decoded.spans,
        max_future=timedelta(seconds=state.settings.max_future_seconds),
        max_age=state.retention.max_age(principal.client_id),
        publish=state.settings.live_tail_enabled,
    )
    reasons = decoded.reasons + refused.reasons
    media_type = _media_type(request)
    content = codec.export_response(
        media_type, rejected=decoded.rejected + refused.spans, message="; ".join(reasons)[:1000]
    )
    return Response(content, 200, media_type=media_type)

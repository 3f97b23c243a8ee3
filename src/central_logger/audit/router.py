"""GET /api/v1/admin/audit: the trail, for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from central_logger.audit import service
from central_logger.audit.schemas import AuditPage, AuditQuery
from central_logger.auth.dependencies import AdminPrincipal, TenantConn
from central_logger.http.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=PROBLEM_RESPONSES)


@router.get("/audit", operation_id="list_audit_events", response_model=AuditPage)
async def list_audit_events(
    query: Annotated[AuditQuery, Query()], _: AdminPrincipal, conn: TenantConn
) -> AuditPage:
    return await service.list_events(conn, query=query)

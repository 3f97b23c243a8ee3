"""Who am I, and my own keys: lets the dashboard decide what to show."""

from __future__ import annotations

from fastapi import APIRouter

from central_logger.auth import service
from central_logger.auth.dependencies import CurrentPrincipal, ReadConn, ReadPrincipal
from central_logger.auth.schemas import ApiKeyInfo, Me, OwnKeys
from central_logger.http.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["auth"], responses=PROBLEM_RESPONSES)


@router.get("/me", operation_id="get_me", response_model=Me)
async def get_me(principal: CurrentPrincipal) -> Me:
    return Me(
        client_id=principal.client_id,
        is_admin=principal.is_admin,
        scopes=sorted(principal.scopes),
        key_prefix=principal.key_prefix,
    )


@router.get("/keys", operation_id="list_own_keys", response_model=OwnKeys)
async def list_own_keys(principal: ReadPrincipal, conn: ReadConn) -> OwnKeys:
    """The keys made for the caller's own client (prefixes, scopes, last use; never a key).
    An admin key lists its own client's too; every tenant's keys are under /api/v1/admin/keys."""
    items: list[ApiKeyInfo] = await service.list_keys(conn, client_id=principal.client_id)
    return OwnKeys(client_id=principal.client_id, items=items)

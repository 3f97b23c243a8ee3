"""HTTP for /api/v1/admin/keys (admin keys only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from central_logger.admin import service
from central_logger.admin.schemas import KeyCreate, KeyList, KeyPrefix, KeyRotate, KeyRotated
from central_logger.auth.dependencies import AdminPrincipal, ReadConn, TenantConn
from central_logger.auth.schemas import ApiKeyCreated, ApiKeyInfo
from central_logger.http.dependencies import State
from central_logger.http.problems import PROBLEM_RESPONSES
from central_logger.http.query import QueryText

router = APIRouter(prefix="/api/v1/admin/keys", tags=["admin"], responses=PROBLEM_RESPONSES)

PrefixParam = Annotated[KeyPrefix, Path(description="The key's public prefix, cl_ + 8 hex")]


@router.post(
    "",
    operation_id="create_api_key",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
)
async def create_api_key(
    spec: KeyCreate, principal: AdminPrincipal, conn: TenantConn, state: State
) -> ApiKeyCreated:
    created = await service.create_key(conn, actor=principal, spec=spec)
    # This process accepts it at once; the others within KEY_MISS_RELOAD_SECONDS.
    state.key_store.forget()
    return created


@router.get("", operation_id="list_api_keys", response_model=KeyList)
async def list_api_keys(
    principal: AdminPrincipal,
    conn: ReadConn,
    client_id: Annotated[QueryText | None, Query(description="Only this client's keys")] = None,
) -> KeyList:
    return await service.list_keys(conn, client_id=client_id)


@router.delete("/{prefix}", operation_id="revoke_api_key", response_model=ApiKeyInfo)
async def revoke_api_key(
    prefix: PrefixParam, principal: AdminPrincipal, conn: TenantConn, state: State
) -> ApiKeyInfo:
    revoked = await service.revoke_key(conn, actor=principal, prefix=prefix)
    # This process refuses it at once; the others within KEY_CACHE_TTL_SECONDS.
    state.key_store.forget()
    return revoked


@router.post(
    "/{prefix}/rotate",
    operation_id="rotate_api_key",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyRotated,
)
async def rotate_api_key(
    prefix: PrefixParam,
    principal: AdminPrincipal,
    conn: TenantConn,
    state: State,
    spec: KeyRotate | None = None,
) -> KeyRotated:
    rotated = await service.rotate_key(
        conn, actor=principal, prefix=prefix, spec=spec or KeyRotate()
    )
    state.key_store.forget()
    return rotated

"""The authentication dependency and its typed aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.auth.keys import display_prefix
from central_logger.auth.schemas import Principal, Scope
from central_logger.auth.tenancy import read_tenancy
from central_logger.db.tenancy import state_tenant
from central_logger.http.dependencies import State
from central_logger.http.problems import FieldError, ProblemError


def _presented_key(request: Request, header: str) -> str | None:
    key = request.headers.get(header)
    if key:
        return key.strip()
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


async def authenticate(request: Request, state: State) -> Principal:
    header = state.settings.api_key_header
    key = _presented_key(request, header)
    auth_headers = {"WWW-Authenticate": f'ApiKey header="{header}"'}
    remote_addr = request.client.host if request.client else None
    if key is None:
        state.audit.auth_failed(key_prefix=None, remote_addr=remote_addr)
        raise ProblemError(
            401,
            f"Missing API key: send it in the {header} header",
            errors=[FieldError(field=f"header.{header}", reason="missing")],
            headers=auth_headers,
        )
    principal = await state.key_store.authenticate(key)
    if principal is None:
        # The public prefix only: the rest of a presented key is never kept or logged.
        prefix = display_prefix(key).replace("\x00", "")
        state.audit.auth_failed(key_prefix=prefix, remote_addr=remote_addr)
        raise ProblemError(
            401,
            "Unknown, expired or revoked API key",
            errors=[FieldError(field=f"header.{header}", reason="not a valid key")],
            headers=auth_headers,
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def _stated_tenant(request: Request, principal: Principal) -> str | None:
    """The tenant row-level security is told, by the same rule as the queries' own
    filter (`read_tenancy`): a tenant key speaks for its client; an admin key for the
    client it narrows to (`client_id` in the query), else for every tenant (None)."""
    requested = request.query_params.get("client_id")
    if requested is not None and (len(requested) > 255 or "\x00" in requested):
        requested = None  # the route's own validation refuses it with a 422
    return read_tenancy(principal, requested).client_id


async def tenant_conn(
    request: Request, state: State, principal: CurrentPrincipal
) -> AsyncIterator[AsyncConnection]:
    """The request's transaction, with its tenant stated for row-level security before
    any query runs; committed when the handler returns, before the response is sent."""
    client_id = _stated_tenant(request, principal)
    if principal.is_admin and request.method == "GET":
        state.audit.admin_read(
            key_prefix=principal.key_prefix,
            client_id=client_id,
            remote_addr=request.client.host if request.client else None,
            path=request.url.path,
        )
    async with state.engine.begin() as conn:
        await state_tenant(conn, client_id)
        yield conn


TenantConn = Annotated[AsyncConnection, Depends(tenant_conn, scope="function")]


def _require(scope: Scope) -> object:
    async def check(principal: CurrentPrincipal) -> Principal:
        if scope not in principal.scopes:
            raise ProblemError(403, f"This API key lacks the {scope.value!r} scope")
        return principal

    return check


IngestPrincipal = Annotated[Principal, Depends(_require(Scope.INGEST))]
ReadPrincipal = Annotated[Principal, Depends(_require(Scope.READ))]
AdminPrincipal = Annotated[Principal, Depends(_require(Scope.ADMIN))]

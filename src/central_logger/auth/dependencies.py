"""The authentication dependency and its typed aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from central_logger.auth.schemas import Principal, Scope
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
    if key is None:
        raise ProblemError(
            401,
            f"Missing API key: send it in the {header} header",
            errors=[FieldError(field=f"header.{header}", reason="missing")],
            headers=auth_headers,
        )
    principal = await state.key_store.authenticate(key)
    if principal is None:
        raise ProblemError(
            401,
            "Unknown, expired or revoked API key",
            errors=[FieldError(field=f"header.{header}", reason="not a valid key")],
            headers=auth_headers,
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def _require(scope: Scope) -> object:
    def check(principal: CurrentPrincipal) -> Principal:
        if scope not in principal.scopes:
            raise ProblemError(403, f"This API key lacks the {scope.value!r} scope")
        return principal

    return check


IngestPrincipal = Annotated[Principal, Depends(_require(Scope.INGEST))]
ReadPrincipal = Annotated[Principal, Depends(_require(Scope.READ))]
AdminPrincipal = Annotated[Principal, Depends(_require(Scope.ADMIN))]

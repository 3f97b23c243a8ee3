"""Who am I: lets the dashboard decide what to show."""

from __future__ import annotations

from fastapi import APIRouter

from central_logger.auth.dependencies import CurrentPrincipal
from central_logger.auth.schemas import Me
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

"""HTTP for retention: a client reads its own policy; admin keys list and set them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from central_logger.admin.schemas import ClientId
from central_logger.auth.dependencies import AdminPrincipal, ReadConn, ReadPrincipal, TenantConn
from central_logger.auth.tenancy import read_tenancy
from central_logger.http.dependencies import State
from central_logger.http.problems import PROBLEM_RESPONSES, ProblemError
from central_logger.http.query import QueryText
from central_logger.http.state import AppState
from central_logger.retention import service
from central_logger.retention.schemas import (
    RetentionPolicy,
    RetentionPolicyList,
    RetentionPolicyUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["retention"], responses=PROBLEM_RESPONSES)

ClientParam = Annotated[ClientId, Path(description="The client whose policy this is")]


def _defaults(state: AppState) -> service.Defaults:
    return service.Defaults(
        logs_days=state.settings.retention_days,
        rollup_days=state.settings.rollup_retention_days,
    )


@router.get("/retention", operation_id="get_retention", response_model=RetentionPolicy)
async def get_retention(
    principal: ReadPrincipal,
    conn: ReadConn,
    state: State,
    client_id: Annotated[
        QueryText | None, Query(description="Admin keys: this client's (else the default)")
    ] = None,
) -> RetentionPolicy:
    """How long this client's logs and charts are kept."""
    tenancy = read_tenancy(principal, client_id)
    return await service.get_policy(
        conn, client_id=tenancy.client_id, defaults=_defaults(state), now=service.utc_now()
    )


@router.get(
    "/admin/retention", operation_id="list_retention_policies", response_model=RetentionPolicyList
)
async def list_retention_policies(
    principal: AdminPrincipal, conn: ReadConn, state: State
) -> RetentionPolicyList:
    return await service.list_policies(conn, defaults=_defaults(state), now=service.utc_now())


@router.put(
    "/admin/retention/{client_id}",
    operation_id="set_retention_policy",
    response_model=RetentionPolicy,
)
async def set_retention_policy(
    client_id: ClientParam,
    update: RetentionPolicyUpdate,
    principal: AdminPrincipal,
    conn: TenantConn,
    state: State,
) -> RetentionPolicy:
    """The client's own policy. Shortening it lets the next retention run delete what
    is now older; ingestion refuses such logs at once in this worker, within
    RETENTION_POLICY_RELOAD_SECONDS in the others."""
    policy = await service.set_policy(
        conn,
        client_id=client_id,
        update=update,
        actor=principal.key_prefix,
        defaults=_defaults(state),
        now=service.utc_now(),
    )
    state.retention.remember(client_id, policy)
    return policy


@router.delete(
    "/admin/retention/{client_id}",
    operation_id="clear_retention_policy",
    response_model=RetentionPolicy,
)
async def clear_retention_policy(
    client_id: ClientParam, principal: AdminPrincipal, conn: TenantConn, state: State
) -> RetentionPolicy:
    """Back to the defaults (RETENTION_DAYS, ROLLUP_RETENTION_DAYS)."""
    policy = await service.clear_policy(
        conn, client_id=client_id, defaults=_defaults(state), now=service.utc_now()
    )
    if policy is None:
        raise ProblemError(404, f"Client {client_id} has no retention policy of its own")
    state.retention.remember(client_id, policy)
    return policy

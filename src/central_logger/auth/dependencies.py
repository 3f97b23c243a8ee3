"""The authentication dependency and its typed aliases."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.auth.keys import display_prefix
from central_logger.auth.schemas import Principal, Scope
from central_logger.auth.tenancy import read_tenancy
from central_logger.db.tenancy import state_tenant
from central_logger.http.dependencies import ReceivedBody, State
from central_logger.http.problems import FieldError, ProblemError
from central_logger.replica.service import ReadReplica


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
    request: Request, state: State, principal: CurrentPrincipal, _body: ReceivedBody
) -> AsyncIterator[AsyncConnection]:
    """The request's transaction, with its tenant stated for row-level security before
    any query runs.

    No request holds a connection while it waits on the network: this connection is
    taken only after the whole body is received (`ReceivedBody` is resolved first,
    whatever the order of the handler's parameters), and the transaction is committed
    and the connection returned when the handler returns, before the response is sent
    to a possibly slow reader (`scope="function"`). Keep it so: never read the request
    or write the response while holding a connection."""
    async with _transaction(request, state, principal) as conn:
        yield conn


async def read_conn(
    request: Request, state: State, principal: CurrentPrincipal, _body: ReceivedBody
) -> AsyncIterator[AsyncConnection]:
    """`tenant_conn` for reads, within the tenant's read budget: a slot of the tenant's
    (an admin key's: the tenant it narrows to) concurrent reads is taken before the
    connection and given back after it, so a read waiting for its turn holds none."""
    async with (
        state.rate_limiter.reads.slot(_stated_tenant(request, principal)),
        _transaction(request, state, principal) as conn,
    ):
        yield conn


@contextlib.asynccontextmanager
async def _transaction(
    request: Request, state: State, principal: Principal, *, replica: bool = False
) -> AsyncIterator[AsyncConnection]:
    """The request's transaction with its tenant stated; on the read replica when
    `replica` is asked and the replica is fit to serve (replica/service.py), else on the
    primary. A replica that cannot be reached is left for the primary at once."""
    client_id = _stated_tenant(request, principal)
    if principal.is_admin and request.method == "GET":
        state.audit.admin_read(
            key_prefix=principal.key_prefix,
            client_id=client_id,
            remote_addr=request.client.host if request.client else None,
            path=request.url.path,
        )
    read_replica = state.read_replica if replica else None
    conn = None
    if read_replica is not None and read_replica.usable():
        conn = await _begin_on_replica(read_replica, client_id)
    if read_replica is not None:
        request.state.read_source = "replica" if conn is not None else "primary"
    if conn is not None:
        try:
            yield conn
        finally:
            await conn.close()  # a read-only transaction: closing rolls it back
        return
    async with state.engine.begin() as primary:
        await state_tenant(primary, client_id)
        yield primary


# Connection failures as SQLAlchemy raises them, and as the driver does for the tenant
# statement, which runs on the driver's connection (db/tenancy.py).
_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    OSError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


async def _begin_on_replica(replica: ReadReplica, client_id: str | None) -> AsyncConnection | None:
    """A transaction on the replica with the tenant stated, or None when the replica
    does not answer (its first round trip is where a dead pooled connection shows):
    the replica is then left until a probe finds it well."""
    conn = replica.engine.connect()
    try:
        await conn.start()
        await conn.begin()
        await state_tenant(conn, client_id)
    except _UNAVAILABLE:
        replica.mark_unavailable()
        with contextlib.suppress(Exception):
            await conn.close()
        return None
    return conn


async def replica_read_conn(
    request: Request, state: State, principal: CurrentPrincipal, _body: ReceivedBody
) -> AsyncIterator[AsyncConnection]:
    """`read_conn` on the read replica (DATABASE_READ_URL) while it is fit to serve,
    else on the primary: for the list, detail and metrics reads, which may be a few
    seconds stale. Which one served goes out as the X-Read-Source header."""
    async with (
        state.rate_limiter.reads.slot(_stated_tenant(request, principal)),
        _transaction(request, state, principal, replica=True) as conn,
    ):
        yield conn


def served_by_replica(request: Request) -> bool:
    return getattr(request.state, "read_source", None) == "replica"


@contextlib.asynccontextmanager
async def primary_read(
    request: Request, state: State, principal: Principal
) -> AsyncIterator[AsyncConnection]:
    """A read transaction on the primary, for a handler whose replica read found
    nothing that the primary may have (read-your-writes)."""
    async with _transaction(request, state, principal) as conn:
        request.state.read_source = "primary"
        yield conn


TenantConn = Annotated[AsyncConnection, Depends(tenant_conn, scope="function")]
ReadConn = Annotated[AsyncConnection, Depends(read_conn, scope="function")]
# The list, detail and metrics reads: on the read replica when there is a fit one.
ReplicaReadConn = Annotated[AsyncConnection, Depends(replica_read_conn, scope="function")]


def _require(scope: Scope) -> object:
    async def check(principal: CurrentPrincipal) -> Principal:
        if scope not in principal.scopes:
            raise ProblemError(403, f"This API key lacks the {scope.value!r} scope")
        return principal

    return check


IngestPrincipal = Annotated[Principal, Depends(_require(Scope.INGEST))]
ReadPrincipal = Annotated[Principal, Depends(_require(Scope.READ))]
AdminPrincipal = Annotated[Principal, Depends(_require(Scope.ADMIN))]

"""Which tenant's rows a request may touch: the first promise of the product."""

from __future__ import annotations

from dataclasses import dataclass

from central_logger.auth.schemas import Principal
from central_logger.http.problems import FieldError, ProblemError


@dataclass(frozen=True, slots=True)
class Tenancy:
    """`client_id` None means every tenant; only an admin key gets that."""

    client_id: str | None


def read_tenancy(principal: Principal, requested_client_id: str | None) -> Tenancy:
    if principal.is_admin:
        return Tenancy(requested_client_id)
    if requested_client_id not in (None, principal.client_id):
        raise ProblemError(
            403,
            "client_id narrows reads for admin keys only",
            errors=[FieldError(field="query.client_id", reason="requires an admin key")],
        )
    return Tenancy(principal.client_id)


def ingest_client_id(principal: Principal, requested_client_id: str | None) -> str:
    """Tenant keys write as themselves; an admin key may write on a client's behalf."""
    if requested_client_id is None:
        return principal.client_id
    if not principal.is_admin and requested_client_id != principal.client_id:
        raise ProblemError(
            403,
            "client_id comes from the API key; only admin keys may name another",
            errors=[FieldError(field="query.client_id", reason="requires an admin key")],
        )
    return requested_client_id

"""Key administration rules: every change audited with the acting admin key's prefix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.admin.schemas import KeyCreate, KeyList, KeyRotate, KeyRotated
from central_logger.auth import service as keys
from central_logger.auth.schemas import ApiKeyCreated, ApiKeyInfo, Principal
from central_logger.http.problems import FieldError, ProblemError


def _no_key(prefix: str) -> ProblemError:
    return ProblemError(404, f"No active key with prefix {prefix}")


async def create_key(conn: AsyncConnection, *, actor: Principal, spec: KeyCreate) -> ApiKeyCreated:
    expires_at = (
        datetime.now(UTC) + timedelta(days=spec.expires_in_days) if spec.expires_in_days else None
    )
    try:
        return await keys.create_key(
            conn,
            client_id=spec.client_id,
            scopes=spec.scopes,
            is_admin=spec.is_admin,
            name=spec.name,
            expires_at=expires_at,
            actor=actor.key_prefix,
        )
    except keys.AdminScopeNotRequestedError as exc:
        raise ProblemError(
            422,
            "The admin scope is for provider keys only: send is_admin: true for one",
            errors=[FieldError(field="body.scopes", reason=str(exc))],
        ) from exc


async def list_keys(conn: AsyncConnection, *, client_id: str | None) -> KeyList:
    return KeyList(items=await keys.list_keys(conn, client_id=client_id))


async def revoke_key(conn: AsyncConnection, *, actor: Principal, prefix: str) -> ApiKeyInfo:
    revoked = await keys.revoke_key(conn, prefix=prefix, actor=actor.key_prefix)
    if revoked is None:
        raise _no_key(prefix)
    return revoked


async def rotate_key(
    conn: AsyncConnection, *, actor: Principal, prefix: str, spec: KeyRotate
) -> KeyRotated:
    rotated = await keys.rotate_key(
        conn,
        prefix=prefix,
        overlap=timedelta(seconds=spec.overlap_seconds),
        actor=actor.key_prefix,
    )
    if rotated is None:
        raise _no_key(prefix)
    new, old = rotated
    return KeyRotated(new=new, old=old)

"""SQL for the api_keys table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import RowMapping, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.db.tables import api_keys


async def insert_key(
    conn: AsyncConnection,
    *,
    prefix: str,
    key_hash: bytes,
    client_id: str,
    scopes: Sequence[str],
    name: str | None,
    expires_at: datetime | None,
) -> RowMapping:
    result = await conn.execute(
        insert(api_keys)
        .values(
            prefix=prefix,
            key_hash=key_hash,
            client_id=client_id,
            scopes=list(scopes),
            name=name,
            expires_at=expires_at,
        )
        .returning(*api_keys.c)
    )
    return result.mappings().one()


async def select_active_key_by_hash(conn: AsyncConnection, *, key_hash: bytes) -> RowMapping | None:
    result = await conn.execute(
        select(api_keys.c.prefix, api_keys.c.client_id, api_keys.c.scopes, api_keys.c.is_admin)
        .where(api_keys.c.key_hash == key_hash)
        .where(api_keys.c.revoked_at.is_(None))
        .where((api_keys.c.expires_at.is_(None)) | (api_keys.c.expires_at > func.now()))
    )
    return result.mappings().one_or_none()


async def select_active_keys(conn: AsyncConnection) -> Sequence[RowMapping]:
    """Every key that may authenticate now (the key store's copy)."""
    result = await conn.execute(
        select(
            api_keys.c.prefix,
            api_keys.c.key_hash,
            api_keys.c.client_id,
            api_keys.c.scopes,
            api_keys.c.expires_at,
        )
        .where(api_keys.c.revoked_at.is_(None))
        .where((api_keys.c.expires_at.is_(None)) | (api_keys.c.expires_at > func.now()))
    )
    return result.mappings().all()


async def select_keys(
    conn: AsyncConnection, *, client_id: str | None = None
) -> Sequence[RowMapping]:
    query = select(*api_keys.c).order_by(api_keys.c.created_at)
    if client_id is not None:
        query = query.where(api_keys.c.client_id == client_id)
    return (await conn.execute(query)).mappings().all()


async def mark_revoked(conn: AsyncConnection, *, prefix: str) -> RowMapping | None:
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.prefix == prefix)
        .where(api_keys.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(*api_keys.c)
    )
    return result.mappings().one_or_none()


async def update_last_used(conn: AsyncConnection, *, used: Mapping[str, datetime]) -> None:
    if not used:
        return
    await conn.execute(
        update(api_keys)
        .where(api_keys.c.prefix == bindparam("b_prefix"))
        .where(
            api_keys.c.last_used_at.is_(None) | (api_keys.c.last_used_at < bindparam("b_used_at"))
        )
        .values(last_used_at=bindparam("b_used_at")),
        [{"b_prefix": prefix, "b_used_at": at} for prefix, at in used.items()],
    )


async def select_client_ids(conn: AsyncConnection) -> Sequence[str]:
    result = await conn.execute(
        select(api_keys.c.client_id).where(api_keys.c.is_admin.is_(False)).distinct()
    )
    return list(result.scalars())


async def select_active_key_by_prefix(conn: AsyncConnection, *, prefix: str) -> RowMapping | None:
    result = await conn.execute(
        select(*api_keys.c)
        .where(api_keys.c.prefix == prefix)
        .where(api_keys.c.revoked_at.is_(None))
        .where((api_keys.c.expires_at.is_(None)) | (api_keys.c.expires_at > func.now()))
        .with_for_update()
    )
    return result.mappings().one_or_none()


async def expire_by(conn: AsyncConnection, *, prefix: str, at: datetime) -> RowMapping:
    """Set the key to expire at `at`, unless it expires sooner already."""
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.prefix == prefix)
        .values(expires_at=func.least(func.coalesce(api_keys.c.expires_at, at), at))
        .returning(*api_keys.c)
    )
    return result.mappings().one()

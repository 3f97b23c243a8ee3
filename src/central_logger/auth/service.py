"""Authentication and key management rules.

Keys from API_KEYS / ADMIN_API_KEYS live in memory. Keys created by the CLI or the
admin API live in PostgreSQL as hashes; a lookup is cached for KEY_CACHE_TTL_SECONDS
so the hot path makes no database round trip, and a revocation reaches every process
within that time. `last_used_at` is collected in memory and written in one statement
per flush instead of on every request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from cachetools import TTLCache
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central_logger.audit import service as audit
from central_logger.audit.schemas import AuditKind
from central_logger.auth import repository
from central_logger.auth.keys import display_prefix, generate_key, hash_key
from central_logger.auth.schemas import (
    ADMIN_SCOPES,
    TENANT_SCOPES,
    ApiKeyCreated,
    ApiKeyInfo,
    Principal,
    Scope,
)

logger = logging.getLogger(__name__)

ENV_ADMIN_CLIENT_ID = "admin"
_CACHE_SIZE = 10_000


class KeyStore:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        tenant_keys: Mapping[str, str],
        admin_keys: Iterable[str],
        cache_ttl_seconds: float,
    ) -> None:
        self._engine = engine
        self._static: dict[bytes, Principal] = {
            hash_key(key): Principal(client_id, TENANT_SCOPES, display_prefix(key))
            for key, client_id in tenant_keys.items()
        }
        for key in admin_keys:
            self._static[hash_key(key)] = Principal(
                ENV_ADMIN_CLIENT_ID, ADMIN_SCOPES, display_prefix(key)
            )
        # Unknown keys are cached too, so a flood of bad keys costs no queries.
        self._cache: TTLCache[bytes, Principal | None] = TTLCache(_CACHE_SIZE, cache_ttl_seconds)
        self._last_used: dict[str, datetime] = {}

    def configured_client_ids(self) -> set[str]:
        return {p.client_id for p in self._static.values() if not p.is_admin}

    async def authenticate(self, key: str) -> Principal | None:
        key_hash = hash_key(key)
        static = self._static.get(key_hash)
        if static is not None:
            return static
        try:
            principal = self._cache[key_hash]
        except KeyError:
            principal = await self._lookup(key_hash)
            self._cache[key_hash] = principal
        if principal is not None:
            self._last_used[principal.key_prefix] = datetime.now(UTC)
        return principal

    async def _lookup(self, key_hash: bytes) -> Principal | None:
        async with self._engine.connect() as conn:
            row = await repository.select_active_key_by_hash(conn, key_hash=key_hash)
        if row is None:
            return None
        return Principal(
            row["client_id"], frozenset(Scope(s) for s in row["scopes"]), row["prefix"]
        )

    def forget(self) -> None:
        """Drop every cached lookup (after a revocation made by this process)."""
        self._cache.clear()

    async def flush_last_used(self) -> None:
        used, self._last_used = self._last_used, {}
        if not used:
            return
        async with self._engine.begin() as conn:
            await repository.update_last_used(conn, used=used)

    async def run_last_used_flusher(self, interval_seconds: float = 30.0) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.flush_last_used()
            except Exception as exc:  # the database may be down; try again later
                logger.warning("could not record key use: %s", type(exc).__name__)


def _info(row: RowMapping) -> ApiKeyInfo:
    return ApiKeyInfo.model_validate(dict(row))


async def create_key(
    conn: AsyncConnection,
    *,
    client_id: str,
    scopes: Sequence[Scope],
    is_admin: bool,
    name: str | None = None,
    expires_at: datetime | None = None,
    actor: str | None = None,
) -> ApiKeyCreated:
    """A new key (printed once; only its hash is stored), audited as made by `actor`."""
    key, prefix = generate_key()
    granted = set(scopes) | ({Scope.ADMIN, Scope.READ} if is_admin else set())
    row = await repository.insert_key(
        conn,
        prefix=prefix,
        key_hash=hash_key(key),
        client_id=client_id,
        scopes=sorted(granted),
        is_admin=is_admin,
        name=name,
        expires_at=expires_at,
    )
    await audit.record(
        conn,
        kind=AuditKind.KEY_CREATED,
        actor=actor,
        client_id=client_id,
        detail={"prefix": prefix, "scopes": sorted(granted), "is_admin": is_admin},
    )
    return ApiKeyCreated(key=key, **_info(row).model_dump())


async def list_keys(conn: AsyncConnection, *, client_id: str | None = None) -> list[ApiKeyInfo]:
    return [_info(row) for row in await repository.select_keys(conn, client_id=client_id)]


async def revoke_key(
    conn: AsyncConnection, *, prefix: str, actor: str | None = None
) -> ApiKeyInfo | None:
    row = await repository.mark_revoked(conn, prefix=prefix)
    if row is None:
        return None
    await audit.record(
        conn,
        kind=AuditKind.KEY_REVOKED,
        actor=actor,
        client_id=row["client_id"],
        detail={"prefix": prefix},
    )
    return _info(row)


async def rotate_key(
    conn: AsyncConnection, *, prefix: str, overlap: timedelta, actor: str | None = None
) -> tuple[ApiKeyCreated, ApiKeyInfo] | None:
    """A successor with the same client, scopes and name; the old key keeps working for
    `overlap` (never longer than it would have), so clients can switch without a gap."""
    old = await repository.select_active_key_by_prefix(conn, prefix=prefix)
    if old is None:
        return None
    created = await create_key(
        conn,
        client_id=old["client_id"],
        scopes=[Scope(s) for s in old["scopes"]],
        is_admin=old["is_admin"],
        name=old["name"],
        expires_at=old["expires_at"],
        actor=actor,
    )
    retiring = await repository.expire_by(conn, prefix=prefix, at=datetime.now(UTC) + overlap)
    await audit.record(
        conn,
        kind=AuditKind.KEY_ROTATED,
        actor=actor,
        client_id=old["client_id"],
        detail={
            "prefix": prefix,
            "successor": created.prefix,
            "overlap_seconds": int(overlap.total_seconds()),
            "old_expires_at": retiring["expires_at"].isoformat(),
        },
    )
    return created, _info(retiring)

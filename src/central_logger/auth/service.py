"""Authentication and key management rules.

Keys from API_KEYS / ADMIN_API_KEYS live in memory. Keys created by the CLI or the
admin API live in PostgreSQL as hashes. Each process holds a copy of every active
key's hash (keys are few: one per workflow or person, not per request), reloaded when
it is KEY_CACHE_TTL_SECONDS old, so a revocation reaches every process within that
time and the hot path makes no database round trip. A key the copy does not know
costs no query at all unless it has our format, and then at most one reload per
KEY_MISS_RELOAD_SECONDS, whatever the number of distinct bad keys: a flood of them
can neither load the database nor push a valid key out of memory. `last_used_at` is
collected in memory and written in one statement per flush.

Admin-ness has one source of truth, the admin scope: `is_admin` is derived from it
(by PostgreSQL, for stored keys), and a key asks for it explicitly (is_admin/--admin).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central_logger.audit import service as audit
from central_logger.audit.schemas import AuditKind
from central_logger.auth import repository
from central_logger.auth.keys import display_prefix, generate_key, hash_key, is_stored_key_shape
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


class AdminScopeNotRequestedError(ValueError):
    """The admin scope was listed for a key not asked for as a provider (admin) key."""


def granted_scopes(scopes: Iterable[Scope], *, is_admin: bool) -> list[Scope]:
    """The scopes a new key gets. The admin scope reads and manages every tenant, so it
    comes only with an explicit is_admin (--admin), never as one scope among others
    on what reads as a tenant key; an admin key always reads."""
    requested = set(scopes)
    if Scope.ADMIN in requested and not is_admin:
        raise AdminScopeNotRequestedError(
            "the admin scope makes a provider key that reads and manages every tenant:"
            " ask for it with is_admin (--admin on the command line)"
        )
    return sorted(requested | ({Scope.ADMIN, Scope.READ} if is_admin else set()))


@dataclass(frozen=True, slots=True)
class _StoredKey:
    principal: Principal
    expires_at: datetime | None


class KeyStore:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        tenant_keys: Mapping[str, str],
        admin_keys: Iterable[str],
        cache_ttl_seconds: float,
        miss_reload_seconds: float = 1.0,
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
        self._max_age = cache_ttl_seconds
        # Never slower than the TTL: a new key must work within it too.
        self._miss_reload = min(miss_reload_seconds, cache_ttl_seconds)
        # The stored keys by hash: replaced whole at each reload, never evicted from.
        self._stored: dict[bytes, _StoredKey] = {}
        self._loaded_at = -math.inf
        self._reload_lock = asyncio.Lock()
        self._last_used: dict[str, datetime] = {}

    def configured_client_ids(self) -> set[str]:
        return {p.client_id for p in self._static.values() if not p.is_admin}

    def _age(self) -> float:
        return time.monotonic() - self._loaded_at

    async def authenticate(self, key: str) -> Principal | None:
        key_hash = hash_key(key)
        static = self._static.get(key_hash)
        if static is not None:
            return static
        if self._age() > self._max_age:
            await self._reload(unless_younger_than=self._max_age)
        principal = self._match(key_hash)
        if principal is None and is_stored_key_shape(key) and self._age() >= self._miss_reload:
            # Perhaps made since the last reload (by another process): look once more.
            await self._reload(unless_younger_than=self._miss_reload)
            principal = self._match(key_hash)
        if principal is not None:
            self._last_used[principal.key_prefix] = datetime.now(UTC)
        return principal

    def _match(self, key_hash: bytes) -> Principal | None:
        stored = self._stored.get(key_hash)
        if stored is None:
            return None
        if stored.expires_at is not None and stored.expires_at <= datetime.now(UTC):
            return None
        return stored.principal

    async def _reload(self, *, unless_younger_than: float) -> None:
        async with self._reload_lock:
            if self._age() < unless_younger_than:
                return  # another request reloaded while this one waited
            started = time.monotonic()
            async with self._engine.connect() as conn:
                rows = await repository.select_active_keys(conn)
            self._stored = {
                bytes(row["key_hash"]): _StoredKey(
                    Principal(
                        row["client_id"],
                        frozenset(Scope(s) for s in row["scopes"]),
                        row["prefix"],
                    ),
                    row["expires_at"],
                )
                for row in rows
            }
            self._loaded_at = started

    def forget(self) -> None:
        """Reload at the next lookup (after a key change made by this process)."""
        self._loaded_at = -math.inf

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
    granted = granted_scopes(scopes, is_admin=is_admin)
    key, prefix = generate_key()
    row = await repository.insert_key(
        conn,
        prefix=prefix,
        key_hash=hash_key(key),
        client_id=client_id,
        scopes=granted,
        name=name,
        expires_at=expires_at,
    )
    await audit.record(
        conn,
        kind=AuditKind.KEY_CREATED,
        actor=actor,
        client_id=client_id,
        detail={"prefix": prefix, "scopes": granted, "is_admin": row["is_admin"]},
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


async def client_ids_with_keys(conn: AsyncConnection) -> Sequence[str]:
    """The tenants that stored (not configured) keys belong to; admin keys name none."""
    return await repository.select_client_ids(conn)


async def is_active_key(conn: AsyncConnection, key: str) -> bool:
    """Whether `key` is a stored key that works now (not revoked, not expired)."""
    return await repository.select_active_key_by_hash(conn, key_hash=hash_key(key)) is not None

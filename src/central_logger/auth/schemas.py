"""Who a request speaks for, and the key-management contract."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class Scope(StrEnum):
    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


TENANT_SCOPES = frozenset({Scope.INGEST, Scope.READ})
ADMIN_SCOPES = frozenset({Scope.INGEST, Scope.READ, Scope.ADMIN})


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: str
    scopes: frozenset[Scope]
    key_prefix: str

    @property
    def is_admin(self) -> bool:
        return Scope.ADMIN in self.scopes


class Me(BaseModel):
    client_id: str
    is_admin: bool
    scopes: list[Scope]
    key_prefix: str


class ApiKeyInfo(BaseModel):
    prefix: str
    client_id: str
    name: str | None
    scopes: list[Scope]
    is_admin: bool
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyInfo):
    # Shown once, at creation; only its hash is stored.
    key: str


class OwnKeys(BaseModel):
    """GET /api/v1/keys: the caller's client and the keys stored for it. Keys configured
    in API_KEYS live in the environment, not the database, and are not listed."""

    client_id: str
    items: list[ApiKeyInfo]

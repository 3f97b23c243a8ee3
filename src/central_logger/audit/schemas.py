"""The audit contract."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from central_logger.http.query import UtcDateTime


class AuditKind(StrEnum):
    AUTH_FAILED = "auth_failed"
    KEY_CREATED = "key_created"
    KEY_ROTATED = "key_rotated"
    KEY_REVOKED = "key_revoked"
    ADMIN_READ = "admin_read"


class AuditEvent(BaseModel):
    id: int
    occurred_at: datetime
    kind: AuditKind
    actor: str | None = Field(description="The acting key's public prefix, never the key")
    client_id: str | None = Field(description="The tenant concerned, when there is one")
    remote_addr: str | None
    count: int = Field(description="Events folded into this row (floods are aggregated)")
    detail: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEvent]


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kind: AuditKind | None = None
    since: UtcDateTime | None = Field(None, description="occurred_at >= since")
    actor: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00]+$")] | None = (
        Field(None, description="Only events made by this key prefix (or `cli`)")
    )
    client_id: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00]+$")] | None = (
        Field(None, description="Only events concerning this tenant")
    )
    limit: Annotated[int, Field(ge=1, le=1000)] = 100

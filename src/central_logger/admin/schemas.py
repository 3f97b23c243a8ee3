"""The key-administration contract."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from central_logger.auth.schemas import ApiKeyCreated, ApiKeyInfo, Scope

ClientId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[^\x00]+$"),
]
KeyPrefix = Annotated[str, StringConstraints(pattern=r"^cl_[0-9a-f]{8}$")]
MAX_OVERLAP_SECONDS = 30 * 86_400


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: ClientId
    scopes: list[Scope] = Field(
        default_factory=lambda: [Scope.INGEST, Scope.READ],
        max_length=3,
        description="admin only with is_admin: true (a 422 otherwise)",
    )
    is_admin: bool = Field(
        False, description="A provider key: reads and manages every tenant (adds admin, read)"
    )
    name: Annotated[str, StringConstraints(max_length=255, pattern=r"^[^\x00]*$")] | None = None
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class KeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_seconds: Annotated[int, Field(ge=0, le=MAX_OVERLAP_SECONDS)] = Field(
        86_400, description="How long the old key keeps working"
    )


class KeyList(BaseModel):
    items: list[ApiKeyInfo]


class KeyRotated(BaseModel):
    new: ApiKeyCreated
    old: ApiKeyInfo

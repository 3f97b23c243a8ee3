"""The retention contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Days = Annotated[int, Field(ge=1, le=36500)]


class RetentionPolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    logs_days: Days = Field(description="Days a log is kept, counted from its executed_at")
    rollup_days: Days | None = Field(
        None,
        description="Days the metric rollups (the charts) are kept; at least logs_days."
        " Omitted: the service's default (ROLLUP_RETENTION_DAYS), or logs_days if longer",
    )

    @model_validator(mode="after")
    def _rollups_outlive_logs(self) -> RetentionPolicyUpdate:
        if self.rollup_days is not None and self.rollup_days < self.logs_days:
            raise ValueError("rollup_days must be at least logs_days")
        return self


class RetentionPolicy(BaseModel):
    """The retention that applies to one client (or, with client_id null, the default)."""

    client_id: str | None
    logs_days: int
    rollup_days: int
    source: Literal["client", "default"] = Field(
        description="client: the client's own policy; default: RETENTION_DAYS"
    )
    logs_kept_since: datetime = Field(
        description="Logs executed before this are deleted, and refused at ingestion"
    )
    rollups_kept_since: datetime = Field(description="Charts reach back to this")


class RetentionPolicyList(BaseModel):
    default: RetentionPolicy
    items: list[RetentionPolicy]


class RetentionRunReport(BaseModel):
    """What one retention run removed."""

    ran: bool = Field(description="false: another process was running it")
    partitions_dropped: list[str] = Field(default_factory=list)
    logs_deleted: dict[str, int] = Field(
        default_factory=dict, description="Logs deleted row by row, per client"
    )
    rollup_rows_deleted: dict[str, int] = Field(default_factory=dict)

"""The metrics contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from central_logger.http.query import LabelQueryText, QueryDateTime, QueryText


class RangeParams(BaseModel):
    """`days` ending now, or an explicit `from`/`to`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    days: Annotated[int, Field(ge=1, le=366)] | None = None
    from_: QueryDateTime | None = Field(None, alias="from")
    to: QueryDateTime | None = None
    environment: LabelQueryText | None = None
    client_id: QueryText | None = Field(None, description="Admin keys only: one tenant")


class StatusCount(BaseModel):
    status: str
    runs: int


class EnvironmentCount(BaseModel):
    environment: str
    runs: int
    failed_runs: int


class SeriesPoint(BaseModel):
    start: datetime
    runs: int
    failed_runs: int


class Overview(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    total_runs: int
    successful_runs: int
    failed_runs: int
    success_rate: float | None
    avg_execution_time_seconds: float | None
    p50_execution_time_seconds: float | None
    p95_execution_time_seconds: float | None
    p99_execution_time_seconds: float | None
    by_status: list[StatusCount]
    by_environment: list[EnvironmentCount]
    bucket: Literal["hour", "day"]
    series: list[SeriesPoint]


class CategoryStats(BaseModel):
    category: str
    runs: int
    successful_runs: int
    failed_runs: int
    success_rate: float
    avg_execution_time_seconds: float | None
    p95_execution_time_seconds: float | None
    share: float


class Categories(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    total_runs: int
    categories: list[CategoryStats]

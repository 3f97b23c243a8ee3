"""The insights contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from central_logger.http.query import LabelQueryText, QueryDateTime, QueryText


class InsightsRangeParams(BaseModel):
    """`days` ending now, or an explicit `from`/`to`; narrowed by environment and
    category; `client_id` for admin keys."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    days: Annotated[int, Field(ge=1, le=366)] | None = None
    from_: QueryDateTime | None = Field(None, alias="from")
    to: QueryDateTime | None = None
    environment: LabelQueryText | None = None
    category: LabelQueryText | None = None
    client_id: QueryText | None = Field(None, description="Admin keys only: one tenant")


class VersionParams(InsightsRangeParams):
    version: LabelQueryText | None = Field(
        None, description="The version to judge; with it, the answer compares it"
    )
    baseline: LabelQueryText | None = Field(
        None, description="The version to compare with; default: the one before `version`"
    )


class AnomalyParams(InsightsRangeParams):
    days: Annotated[int, Field(ge=1, le=31)] | None = None
    kind: Literal["failure_rate", "run_count", "p95"] | None = None
    min_runs: Annotated[int, Field(ge=5, le=100_000)] = 20
    weeks: Annotated[int, Field(ge=2, le=8)] = 4


class PatternParams(InsightsRangeParams):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    lookback_days: Annotated[int, Field(ge=0, le=90)] = Field(
        30, description="How far before the range a pattern counts as seen before"
    )


class VersionStats(BaseModel):
    version: str
    runs: int
    successful_runs: int
    failed_runs: int
    success_rate: float | None
    success_rate_low: float | None = Field(description="95% Wilson interval")
    success_rate_high: float | None
    p50_execution_time_seconds: float | None
    p95_execution_time_seconds: float | None
    p99_execution_time_seconds: float | None


class VersionDifference(BaseModel):
    """Candidate minus baseline."""

    success_rate: float | None
    success_rate_low: float | None = Field(description="95% Newcombe interval")
    success_rate_high: float | None
    p_value: float | None = Field(description="two-proportion z-test, two-sided")
    significant: bool
    p95_ratio: float | None
    verdict: str


class VersionComparison(BaseModel):
    baseline: VersionStats
    candidate: VersionStats
    difference: VersionDifference


class Versions(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    versions: list[VersionStats]
    comparison: VersionComparison | None


class TrendPoint(BaseModel):
    start: datetime
    runs: int
    success_rate: float | None
    p95_execution_time_seconds: float | None


class CategoryTrend(BaseModel):
    category: str
    runs: int
    first_half_success_rate: float | None
    second_half_success_rate: float | None
    success_rate_change: float | None
    p95_ratio: float | None
    points: list[TrendPoint]


class Trends(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    bucket: Literal["hour", "day"]
    categories: list[CategoryTrend]


class AnomalyRead(BaseModel):
    client_id: str
    environment: str
    category: str
    hour: datetime
    kind: Literal["failure_rate", "run_count", "p95"]
    direction: Literal["up", "down"]
    observed: float
    usual_low: float
    usual_high: float
    expected: float
    runs: int
    score: float
    explanation: str


class Anomalies(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    anomalies: list[AnomalyRead]


class PatternRead(BaseModel):
    id: str
    step: str | None
    template: str
    count: int
    first_seen: datetime
    last_seen: datetime
    new: bool
    versions: list[str]
    categories: list[str]
    statuses: list[str]
    client_ids: list[str]
    example_run_ids: list[str]


class Patterns(BaseModel):
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    failed_runs: int = Field(description="failed runs read (at most `sample_limit`)")
    sampled: bool = Field(description="true when the range held more failed runs than read")
    patterns: list[PatternRead]

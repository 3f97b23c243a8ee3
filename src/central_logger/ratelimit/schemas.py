"""Budgets: how much a key may send."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from limits import RateLimitItem, RateLimitItemPerSecond
from pydantic import BaseModel, ConfigDict, Field


class Budget(StrEnum):
    REQUESTS = "requests"
    LOGS = "logs"


@dataclass(frozen=True, slots=True)
class Allowance:
    """`burst` at once, `per_second` on average: `burst` per ceil(burst / per_second) s."""

    per_second: float
    burst: int

    @property
    def window_seconds(self) -> int:
        return max(1, math.ceil(self.burst / self.per_second))

    def item(self) -> RateLimitItem:
        return RateLimitItemPerSecond(self.burst, self.window_seconds)


class Override(BaseModel):
    """One entry of RATE_LIMIT_OVERRIDES; a missing field keeps the default."""

    model_config = ConfigDict(extra="forbid")

    requests_per_second: float | None = Field(None, gt=0)
    requests_burst: int | None = Field(None, ge=1)
    logs_per_second: float | None = Field(None, gt=0)
    logs_burst: int | None = Field(None, ge=1)

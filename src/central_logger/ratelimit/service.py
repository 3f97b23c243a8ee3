"""Per-key rate limits on ingestion, with the `limits` library (and, in `reads`, the
per-tenant read budget).

Each key has two budgets, requests and logs, counted by a sliding window. The counters
live in this process's memory, or on Redis when REDIS_URL is set so that every worker
and replica spends one budget. When Redis does not answer, ingestion is not blocked:
the limiter lets the request through and logs a warning (availability over strictness).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping

from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from central_logger.auth.schemas import Principal
from central_logger.http.problems import FieldError, ProblemError
from central_logger.observability import metrics as observed
from central_logger.ratelimit.concurrency import INGEST_WORK, ConcurrencyBudget
from central_logger.ratelimit.schemas import Allowance, Budget, Override
from central_logger.settings import Settings

logger = logging.getLogger(__name__)

_REDIS_KEY_PREFIX = "central_logger_rl"


def storage_for(redis_url: str | None) -> Storage:
    if not redis_url:
        return MemoryStorage()
    url = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
    storage = storage_from_string(
        url,
        implementation="redispy",
        key_prefix=_REDIS_KEY_PREFIX,
        wrap_exceptions=True,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )
    assert isinstance(storage, Storage)
    return storage


class RateLimiter:
    def __init__(
        self,
        storage: Storage,
        *,
        defaults: Mapping[Budget, Allowance],
        overrides: Mapping[str, Mapping[Budget, Allowance]],
        enabled: bool = True,
        reads: ConcurrencyBudget | None = None,
        ingest_work: ConcurrencyBudget | None = None,
    ) -> None:
        self._storage = storage
        # Beside the ingestion budgets, the per-tenant read budget (always this
        # process's: it counts reads running here, not a rate).
        self.reads = reads or ConcurrencyBudget(concurrency=2, max_wait_seconds=2.0, max_waiting=64)
        self.ingest_work = ingest_work or ConcurrencyBudget(
            concurrency=1, max_wait_seconds=30.0, max_waiting=64, kind=INGEST_WORK
        )
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        self._defaults = dict(defaults)
        self._overrides = {client: dict(budgets) for client, budgets in overrides.items()}
        self.enabled = enabled

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        defaults = {
            Budget.REQUESTS: Allowance(
                settings.rate_limit_requests_per_second, settings.rate_limit_requests_burst
            ),
            Budget.LOGS: Allowance(
                settings.rate_limit_logs_per_second, settings.rate_limit_logs_burst
            ),
        }
        overrides: dict[str, dict[Budget, Allowance]] = {}
        for client_id, raw in settings.rate_limit_overrides.items():
            override = Override.model_validate(raw)
            requests, logs = defaults[Budget.REQUESTS], defaults[Budget.LOGS]
            overrides[client_id] = {
                Budget.REQUESTS: Allowance(
                    override.requests_per_second or requests.per_second,
                    override.requests_burst or requests.burst,
                ),
                Budget.LOGS: Allowance(
                    override.logs_per_second or logs.per_second,
                    override.logs_burst or logs.burst,
                ),
            }
        return cls(
            storage_for(settings.redis_url),
            defaults=defaults,
            overrides=overrides,
            enabled=settings.rate_limit_enabled,
            reads=ConcurrencyBudget.reads_from_settings(settings),
            ingest_work=ConcurrencyBudget.ingest_work_from_settings(settings),
        )

    def allowance(self, client_id: str, budget: Budget) -> Allowance:
        return self._overrides.get(client_id, self._defaults)[budget]

    async def charge(self, principal: Principal, budget: Budget, cost: int = 1) -> None:
        """Spend `cost` of the key's budget, or raise 429 (413 when it can never fit)."""
        if not self.enabled or cost <= 0:
            return
        allowance = self.allowance(principal.client_id, budget)
        policy = f'"{budget.value}";q={allowance.burst};w={allowance.window_seconds}'
        if cost > allowance.burst:
            if budget is Budget.LOGS:
                observed.count_rejected("too_large", cost)
            raise ProblemError(
                413,
                f"This request carries {cost} {budget.value}; the key's burst is "
                f"{allowance.burst}: split it",
                errors=[FieldError(field="body", reason=f"over the {budget.value} burst")],
                headers={"RateLimit-Policy": policy},
            )
        item = allowance.item()
        identity = (budget.value, principal.client_id, principal.key_prefix)
        try:
            if await self._strategy.hit(item, *identity, cost=cost):
                return
            stats = await self._strategy.get_window_stats(item, *identity)
        except Exception as exc:  # the shared store is down: do not block ingestion
            logger.warning("rate limit store unavailable, not limiting: %s", type(exc).__name__)
            return
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        observed.count_rate_limited(budget.value)
        if budget is Budget.LOGS:
            observed.count_rejected("rate_limited", cost)
        raise ProblemError(
            429,
            f"This key's {budget.value} budget ({allowance.burst} per "
            f"{allowance.window_seconds} s) is spent; retry in {wait} s",
            errors=[FieldError(field=f"rate.{budget.value}", reason="budget spent")],
            headers={
                "Retry-After": str(wait),
                "RateLimit": f'"{budget.value}";r={max(0, stats.remaining)};t={wait}',
                "RateLimit-Policy": policy,
            },
        )

    async def reset(self) -> None:
        await self._storage.reset()

    async def check_storage(self) -> bool:
        return bool(await self._storage.check())

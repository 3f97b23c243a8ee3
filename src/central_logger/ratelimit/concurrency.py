"""Per-tenant concurrency budgets: how much of one kind of work one tenant may run at
once in this process.

Reads: a read holds a pooled connection and PostgreSQL's CPU for as long as its query
runs, so a tenant sending many expensive reads at once would take both from every other
tenant. Each tenant (an admin key counts as the tenant it narrows to, or as "every
tenant" when it does not) may run at most READ_CONCURRENCY_PER_TENANT reads at once in
this process. The next ones wait in that tenant's own queue (first come, first served),
never in another tenant's; a read that would wait longer than READ_QUEUE_TIMEOUT_SECONDS,
or that finds READ_QUEUE_MAX_WAITING reads of its tenant already waiting, is answered
429 with Retry-After. A slot is taken before a connection, so waiting costs none.

Ingestion work: parsing, validating and storing a batch or an OTLP export is CPU on
the event loop that every request of the process shares (parse, validation, the
flush's parameters, the response). Each tenant may have at most
INGEST_CONCURRENCY_PER_TENANT of them in progress at once per worker (the slot is taken
after the body has arrived), so one tenant's flood of batches takes turns instead of
filling the loop: another tenant's request waits behind one batch's slice of work, not
behind every batch in flight. Its queue waits longer (INGEST_QUEUE_TIMEOUT_SECONDS)
than a read's: a shipper would rather wait than retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from central_logger.http.problems import FieldError, ProblemError
from central_logger.observability import metrics as observed
from central_logger.settings import Settings

# The budget of an admin read across every tenant: a name no client_id can take
# (client ids come from keys and are checked for NUL on the way in).
EVERY_TENANT = "\x00every-tenant"


@dataclass(slots=True)
class _TenantSlots:
    running: int = 0
    # Readers waiting for a slot, in arrival order; each is woken by the reader that
    # hands it its slot.
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)


@dataclass(frozen=True, slots=True)
class WorkKind:
    """What a budget counts, as its 429 names it."""

    # "reads": the problem's field is `rate.reads`, its policy "concurrent-reads".
    name: str
    # "concurrent read budget spent"
    reason: str


READS = WorkKind("reads", "concurrent read budget spent")
INGEST_WORK = WorkKind("ingest", "concurrent ingestion budget spent")


class ConcurrencyBudget:
    def __init__(
        self,
        *,
        concurrency: int,
        max_wait_seconds: float,
        max_waiting: int,
        kind: WorkKind = READS,
    ) -> None:
        self.kind = kind
        self.concurrency = concurrency
        self.max_wait_seconds = max_wait_seconds
        self.max_waiting = max_waiting
        self._tenants: dict[str, _TenantSlots] = {}

    @classmethod
    def reads_from_settings(cls, settings: Settings) -> ConcurrencyBudget:
        return cls(
            concurrency=settings.read_concurrency_per_tenant,
            max_wait_seconds=settings.read_queue_timeout_seconds,
            max_waiting=settings.read_queue_max_waiting,
            kind=READS,
        )

    @classmethod
    def ingest_work_from_settings(cls, settings: Settings) -> ConcurrencyBudget:
        return cls(
            concurrency=settings.ingest_concurrency_per_tenant,
            max_wait_seconds=settings.ingest_queue_timeout_seconds,
            max_waiting=settings.ingest_queue_max_waiting,
            kind=INGEST_WORK,
        )

    def running(self, tenant: str | None) -> int:
        slots = self._tenants.get(tenant or EVERY_TENANT)
        return slots.running if slots else 0

    @contextlib.asynccontextmanager
    async def slot(self, tenant: str | None) -> AsyncIterator[None]:
        """Hold one of `tenant`'s slots (None: every tenant) for the block."""
        name = tenant or EVERY_TENANT
        slots = self._tenants.setdefault(name, _TenantSlots())
        if slots.running >= self.concurrency:
            await self._wait(name, slots)
        else:
            slots.running += 1
        try:
            yield
        finally:
            self._release(name, slots)

    async def _wait(self, name: str, slots: _TenantSlots) -> None:
        if len(slots.waiting) >= self.max_waiting:
            raise self._busy(f"{self.max_waiting} more are waiting already")
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        slots.waiting.append(turn)
        try:
            async with asyncio.timeout(self.max_wait_seconds):
                await turn
        except BaseException as exc:
            if turn.done() and not turn.cancelled():
                # The slot was handed over just as the wait ended.
                if isinstance(exc, TimeoutError):
                    return  # late but served: keep it
                self._release(name, slots)  # cancelled (client gone): pass it on
                raise
            if turn in slots.waiting:
                slots.waiting.remove(turn)
            if isinstance(exc, TimeoutError):
                raise self._busy(
                    f"its {self.kind.name} waited {self.max_wait_seconds:g} s for a slot"
                ) from None
            raise
        # The releasing reader handed its slot over: `running` already counts it.

    def _release(self, name: str, slots: _TenantSlots) -> None:
        while slots.waiting:
            turn = slots.waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes to the next in line
                return
        slots.running -= 1
        if slots.running == 0:
            del self._tenants[name]

    def _busy(self, why: str) -> ProblemError:
        retry_after = max(1, math.ceil(self.max_wait_seconds))
        observed.count_rate_limited(self.kind.name)
        return ProblemError(
            429,
            f"Too many concurrent {self.kind.name} for this tenant ({self.concurrency} at once); "
            f"{why}; retry in {retry_after} s",
            errors=[FieldError(field=f"rate.{self.kind.name}", reason=self.kind.reason)],
            headers={
                "Retry-After": str(retry_after),
                "RateLimit-Policy": f'"concurrent-{self.kind.name}";q={self.concurrency}',
            },
        )

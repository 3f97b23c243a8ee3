"""``client.run(...)``: one workflow run measured and logged, with its steps."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from ._records import new_id, now, rfc3339

__all__ = ["Run", "Step"]

logger = logging.getLogger("central_logger_client")

SUCCESS = "SUCCESS"

# The step whose ``with`` block is running in this thread or task: a step made inside
# it nests under it (``payload.trace[].parent``). A context variable, so steps of
# concurrent asyncio tasks nest under their own task's step.
_open_step: contextvars.ContextVar[Step | None] = contextvars.ContextVar(
    "central_logger_open_step", default=None
)


def _error_info(exc: BaseException) -> dict[str, str]:
    return {"type": type(exc).__qualname__, "message": str(exc)}


class Step:
    """One step of a run, kept in ``payload.trace``.

    Made by :meth:`Run.step`. Used as a context manager (``with run.step("x") as
    step:``) it measures the block and sets ``status`` to ``SUCCESS`` or to the
    run's error status with ``error`` = ``{"type", "message"}`` if the block
    raises (the exception goes on). Called plainly it records a step that ended
    now and began when the previous step ended (or the run began), unless
    ``duration_seconds``/``started_at`` are given. ``output`` and the other
    attributes may be set on the object until the run ends. A step made while
    another step's block runs nests under it: the outer one gets an ``id`` and the
    inner one a ``parent`` naming it, and the dashboard draws them as a tree.
    """

    def __init__(
        self,
        run: Run,
        name: str,
        *,
        input: Any = None,
        output: Any = None,
        error: Any = None,
        status: str | None = None,
        started_at: datetime | None = None,
        duration_seconds: float | None = None,
    ) -> None:
        self._run = run
        self._t0: float | None = None
        self._token: contextvars.Token[Step | None] | None = None
        self._number = len(run.trace)
        self.key: str | None = None
        outer = _open_step.get()
        self.parent = outer if outer is not None and outer._run is run else None
        if self.parent is not None and self.parent.key is None:
            self.parent.key = f"step-{self.parent._number + 1}"
        self.name = name
        self.input = input
        self.output = output
        self.error = error
        ended = time.perf_counter()
        if duration_seconds is None:
            duration_seconds = max(ended - run._last_mark, 0.0)
        if started_at is None:
            started_at = now() - timedelta(seconds=duration_seconds)
        self.started_at = started_at
        self.duration_seconds: float | None = duration_seconds
        self.status = status or (SUCCESS if error is None else run.error_status)
        run._last_mark = ended

    def __enter__(self) -> Step:
        self._t0 = time.perf_counter()
        self.started_at = now()
        self.duration_seconds = None
        self._token = _open_step.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        ended = time.perf_counter()
        if self._token is not None:
            try:
                _open_step.reset(self._token)
            except ValueError:  # left in another context than it was entered in
                _open_step.set(None)
            self._token = None
        if self._t0 is not None:
            self.duration_seconds = ended - self._t0
        self._run._last_mark = ended
        if exc is not None:
            self.status = self._run.error_status
            self.error = _error_info(exc)

    async def __aenter__(self) -> Step:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def to_dict(self) -> dict[str, Any]:
        duration = self.duration_seconds
        if duration is None and self._t0 is not None:  # still open when the run ended
            duration = time.perf_counter() - self._t0
        step = {
            "name": self.name,
            "started_at": rfc3339(self.started_at),
            "duration_seconds": duration,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "error": self.error,
        }
        if self.key is not None:
            step["id"] = self.key
        if self.parent is not None:
            step["parent"] = self.parent.key
        return step


class Run:
    """One workflow run; logged once, when its block ends.

    Use it as ``with client.run(...) as run:`` (or ``async with``). It measures
    ``execution_time_seconds``, collects the steps, and logs ``SUCCESS``, or
    ``error_status`` with ``payload.error = {"type", "message"}`` when the block
    raises; the exception is never swallowed. Before the end the workflow may set
    ``status`` (its own outcome, e.g. ``"NEEDS_REVIEW"``), ``resolution_status``,
    ``category``, and add to ``metrics`` and ``payload``. ``id`` is the log's id,
    known from the start.
    """

    def __init__(
        self,
        emit: Callable[..., str],
        *,
        ticket_id: str | None = None,
        category: str | None = None,
        resolution_status: str | None = None,
        metrics: dict[str, Any] | None = None,
        payload: dict[str, Any] | None = None,
        environment: str | None = None,
        workflow_version: str | None = None,
        error_status: str = "ERROR",
    ) -> None:
        self._emit = emit
        self.id = new_id()
        self.ticket_id = ticket_id
        self.category = category
        self.resolution_status = resolution_status
        self.metrics: dict[str, Any] = dict(metrics or {})
        self.payload: dict[str, Any] = dict(payload or {})
        self.environment = environment
        self.workflow_version = workflow_version
        self.error_status = error_status
        self.status: str | None = None
        self.trace: list[Step] = []
        self.started_at = now()
        self._t0 = time.perf_counter()
        self._last_mark = self._t0
        self._done = False

    def step(
        self,
        name: str,
        *,
        input: Any = None,
        output: Any = None,
        error: Any = None,
        status: str | None = None,
        started_at: datetime | None = None,
        duration_seconds: float | None = None,
    ) -> Step:
        """Add a step to the trace (see :class:`Step` for both ways to use it)."""
        step = Step(
            self,
            name,
            input=input,
            output=output,
            error=error,
            status=status,
            started_at=started_at,
            duration_seconds=duration_seconds,
        )
        self.trace.append(step)
        return step

    def __enter__(self) -> Run:
        self.started_at = now()
        self._t0 = time.perf_counter()
        self._last_mark = self._t0
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish(exc)

    async def __aenter__(self) -> Run:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._finish(exc)

    def _finish(self, exc: BaseException | None) -> None:
        if self._done:
            return
        self._done = True
        try:
            elapsed = time.perf_counter() - self._t0
            payload = dict(self.payload)
            payload["trace"] = [step.to_dict() for step in self.trace]
            status = self.status
            if exc is not None:
                payload["error"] = _error_info(exc)
                status = status if status not in (None, SUCCESS) else self.error_status
            self._emit(
                id=self.id,
                status=status or SUCCESS,
                executed_at=self.started_at,
                execution_time_seconds=elapsed,
                ticket_id=self.ticket_id,
                category=self.category,
                resolution_status=self.resolution_status,
                metrics=self.metrics or None,
                payload=payload,
                environment=self.environment,
                workflow_version=self.workflow_version,
            )
        except Exception:  # never into the workflow
            logger.exception("central-logger: could not log run %s", self.id)

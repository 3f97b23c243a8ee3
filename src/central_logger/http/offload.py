"""CPU-heavy request work in worker processes, off the event loop and its GIL.

Parsing and validating a large JSON body is C-speed work in one piece: one body near the
value limit (MAX_JSON_VALUES) is up to ~250 ms of CPU, and a 1000-log batch ~30 ms.
In a thread of the service worker it still holds the GIL, so every other tenant's
request of that worker waits for it. Large bodies (over `min_bytes`) therefore go to a
small pool of worker processes (PARSE_PROCESSES per service worker) and come back as
compact results (rows with their JSON already serialised, or the problem to answer);
the event loop only hands the bytes over and unpacks the answer. Smaller bodies, a
fraction of a millisecond each, stay in a thread: a process hop would cost more.

The pool's queue needs no bound of its own: a large ingestion body runs inside its
tenant's ingestion turn (`ratelimit.dependencies`), so each tenant has at most
INGEST_CONCURRENCY_PER_TENANT bodies in the pool at once, and the pool takes them in
arrival order. The processes start on first use, from a fork server that has the
parsing code imported already, so a service that never sees a large body starts none.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from central_logger.http.problems import FieldError, ProblemError

logger = logging.getLogger(__name__)

T = TypeVar("T")


def _start_worker(service_pid: int) -> None:
    # Bulk work: the parse of one tenant's body yields the CPU to the service worker's
    # event loop and to PostgreSQL, which serve every tenant's requests.
    os.nice(_WORKER_NICENESS)
    # A worker's parent is the fork server, which lives as long as its children do; a
    # service process that is killed (SIGKILL, out of memory) shuts nothing down. So
    # each worker watches the service process itself and ends with it.
    threading.Thread(
        target=_exit_with, args=(service_pid,), name="service-watch", daemon=True
    ).start()


def _exit_with(service_pid: int) -> None:
    while True:
        time.sleep(_WATCH_SECONDS)
        try:
            os.kill(service_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass  # alive, whoever it runs as


_WATCH_SECONDS = 0.5
_WORKER_NICENESS = 5


def _ready(_: int) -> None:
    """A no-op each worker runs once, so the pool is up before it is used."""


class CpuOffload:
    def __init__(self, *, processes: int, min_bytes: int, preload: Sequence[str] = ()) -> None:
        self.processes = processes
        self.min_bytes = min_bytes
        # Modules the fork server imports once, so that a new worker process is a fork,
        # not a fresh interpreter importing pydantic and the schemas (~1 s of CPU).
        self._preload = list(preload)
        self._pool: ProcessPoolExecutor | None = None
        self._starting = asyncio.Lock()

    @property
    def started(self) -> bool:
        return self._pool is not None

    async def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            async with self._starting:
                if self._pool is None:
                    # Starting the fork server (its imports) and forking the workers
                    # blocks for up to a second or more: not on the event loop.
                    self._pool = await asyncio.to_thread(self._start)
        return self._pool

    def _start(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(self._preload)
        pool = ProcessPoolExecutor(
            self.processes,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        # The processes start on the first submit; wait for them here.
        list(pool.map(_ready, range(self.processes)))
        return pool

    async def run(self, size: int, fn: Callable[..., T], /, *args: Any) -> T:
        """`fn(*args)`: in a worker process when `size` (the body's bytes) is over
        `min_bytes`, else in a thread. `fn` and its arguments must pickle; so must its
        result, and the exceptions it raises (`ProblemError` does)."""
        if self.processes == 0 or size <= self.min_bytes:
            return await run_in_threadpool(fn, *args)
        pool = await self._started()
        try:
            return await asyncio.wrap_future(pool.submit(fn, *args))
        except BrokenProcessPool:
            # A worker died (killed, out of memory): every body it held fails with it.
            # The next large body starts a fresh pool.
            logger.error("a parse worker process died; starting a new pool on next use")
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise ProblemError(
                503,
                "The request could not be processed; retry it",
                errors=[FieldError(field="body", reason="parse worker unavailable")],
                headers={"Retry-After": "1"},
            ) from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

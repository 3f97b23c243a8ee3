"""The public clients: :class:`CentralLogger` and :class:`AsyncCentralLogger`."""

from __future__ import annotations

import asyncio
import atexit
import functools
import logging
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from ._errors import ConfigurationError, SpoolError
from ._records import encode, new_id, now, rfc3339
from ._run import Run
from ._sender import DroppedCallback, RejectedCallback, Sender, Stats
from ._spool import MemoryStore, SpoolStore, Store
from ._transport import Transport

__all__ = ["AsyncCentralLogger", "CentralLogger"]

logger = logging.getLogger("central_logger_client")

MAX_BATCH_SIZE = 1000  # the service's MAX_BATCH_SIZE


class _BaseLogger:
    """Ships workflow logs to Central Logger from a background thread.

    ``log()`` and ``run()`` only enqueue: nothing here blocks the workflow beyond
    that, and nothing raises into it (failures go to ``on_rejected``,
    ``on_dropped`` and :mod:`logging` under ``central_logger_client``). Only this
    constructor raises, :class:`ConfigurationError` for arguments that can never
    work. Thread-safe; one instance per process is the intended use.

    Logs are sent in gzip-compressed batches of up to ``batch_size`` to
    ``POST /api/v1/logs/batch``, at the latest ``flush_interval`` seconds after
    they were logged. Failed sends (connection errors, timeouts, 408, 429, 5xx)
    are retried with exponential backoff and full jitter between ``backoff_base``
    and ``max_backoff`` seconds, never sooner than a ``Retry-After``; other 4xx
    refuse the batch for good (reported, not retried). Every log carries a
    client-made UUIDv7, so a retry never stores a log twice.

    With ``spool_dir`` logs that could not be sent wait on disk (at most
    ``spool_max_bytes``) and survive a restart: the next client on that directory
    sends them first, oldest first. Without it they wait in memory (at most
    ``max_queue`` logs). Over a bound the oldest logs are dropped, counted in
    :attr:`stats` and reported.

    At interpreter exit the client flushes for up to ``atexit_timeout`` seconds.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        environment: str = "production",
        workflow_version: str | None = None,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        spool_dir: str | os.PathLike[str] | None = None,
        spool_max_bytes: int = 256 * 1024 * 1024,
        max_queue: int = 10_000,
        timeout: float = 10.0,
        compress: bool = True,
        backoff_base: float = 0.5,
        max_backoff: float = 30.0,
        on_rejected: RejectedCallback | None = None,
        on_dropped: DroppedCallback | None = None,
        api_key_header: str = "X-API-Key",
        atexit_timeout: float = 5.0,
        verify: bool | str = True,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(f"url must be an http(s) URL, got {url!r}")
        if not api_key:
            raise ConfigurationError("api_key must not be empty")
        if not environment:
            raise ConfigurationError("environment must not be empty")
        if not 1 <= batch_size <= MAX_BATCH_SIZE:
            raise ConfigurationError(f"batch_size must be 1-{MAX_BATCH_SIZE}, got {batch_size}")
        if flush_interval <= 0:
            raise ConfigurationError("flush_interval must be > 0")
        if max_queue < batch_size:
            raise ConfigurationError("max_queue must be >= batch_size")
        if spool_max_bytes <= 0:
            raise ConfigurationError("spool_max_bytes must be > 0")
        if timeout <= 0 or backoff_base <= 0 or max_backoff < backoff_base:
            raise ConfigurationError("need timeout > 0 and 0 < backoff_base <= max_backoff")

        self.environment = environment
        self.workflow_version = workflow_version

        store: Store
        if spool_dir is not None:
            try:
                store = SpoolStore(Path(spool_dir), spool_max_bytes)
            except SpoolError as exc:
                logger.error("central-logger: %s; keeping unsent logs in memory instead", exc)
                store = MemoryStore(max_queue)
            else:
                if store.count:
                    logger.info(
                        "central-logger: %d logs found in the spool %s; sending them first",
                        store.count,
                        spool_dir,
                    )
        else:
            store = MemoryStore(max_queue)
        self._spooling = store.durable

        transport = Transport(
            url,
            api_key,
            api_key_header=api_key_header,
            timeout=timeout,
            compress=compress,
            verify=verify,
        )
        self._sender = Sender(
            transport=transport,
            store=store,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_queue=max_queue,
            backoff_base=backoff_base,
            backoff_max=max_backoff,
            on_rejected=on_rejected,
            on_dropped=on_dropped,
        )
        # Bound to the sender, not the client: a client dropped without close()
        # still flushes at exit. A partial per instance, so that close()
        # unregisters this client's hook only.
        self._atexit_hook = functools.partial(self._sender.close, atexit_timeout)
        atexit.register(self._atexit_hook)

    # -- logging ------------------------------------------------------------

    def log(
        self,
        *,
        status: str,
        ticket_id: str | None = None,
        category: str | None = None,
        resolution_status: str | None = None,
        execution_time_seconds: float | None = None,
        metrics: Mapping[str, Any] | None = None,
        payload: Mapping[str, Any] | None = None,
        executed_at: datetime | None = None,
        environment: str | None = None,
        workflow_version: str | None = None,
        id: str | None = None,
    ) -> str:
        """Enqueue one log and return its id at once. Never raises."""
        log_id = id or new_id()
        try:
            record: dict[str, Any] = {
                "id": str(log_id),
                "environment": environment or self.environment,
                "executed_at": rfc3339(executed_at or now()),
                "status": status,
            }
            version = workflow_version or self.workflow_version
            optional: dict[str, Any] = {
                "workflow_version": version,
                "ticket_id": ticket_id,
                "category": category,
                "resolution_status": resolution_status,
                "execution_time_seconds": execution_time_seconds,
                "metrics": metrics,
                "payload": payload,
            }
            record.update({k: v for k, v in optional.items() if v is not None})
            item = encode(record)
        except Exception:
            logger.exception("central-logger: could not encode log %s", log_id)
            self._sender.drop(1, "could not be encoded")
            return str(log_id)
        self._sender.enqueue(item)
        return str(log_id)

    def ship(self, record: Mapping[str, Any]) -> str:
        """Enqueue one whole log as the API takes it (a line of a backfill file, say)
        and return its id. An id is added when the log has none, so a retry can never
        duplicate it. Never raises; the service judges the fields."""
        log = dict(record)
        log_id = str(log.get("id") or new_id())
        log["id"] = log_id
        try:
            item = encode(log)
        except Exception:
            logger.exception("central-logger: could not encode log %s", log_id)
            self._sender.drop(1, "could not be encoded")
            return log_id
        self._sender.enqueue(item)
        return log_id

    def run(
        self,
        *,
        ticket_id: str | None = None,
        category: str | None = None,
        resolution_status: str | None = None,
        metrics: dict[str, Any] | None = None,
        payload: dict[str, Any] | None = None,
        environment: str | None = None,
        workflow_version: str | None = None,
        error_status: str = "ERROR",
    ) -> Run:
        """A :class:`Run` to use as ``with client.run(...) as run:``."""
        return Run(
            self.log,
            ticket_id=ticket_id,
            category=category,
            resolution_status=resolution_status,
            metrics=metrics,
            payload=payload,
            environment=environment,
            workflow_version=workflow_version,
            error_status=error_status,
        )

    # -- lifecycle ----------------------------------------------------------

    def _flush(self, timeout: float) -> bool:
        try:
            return self._sender.flush(timeout)
        except Exception:
            logger.exception("central-logger: flush failed")
            return False

    def _close(self, timeout: float) -> bool:
        atexit.unregister(self._atexit_hook)
        try:
            return self._sender.close(timeout)
        except Exception:
            logger.exception("central-logger: close failed")
            return False

    @property
    def closed(self) -> bool:
        return self._sender.closed

    @property
    def spooling(self) -> bool:
        """Whether unsent logs go to a spool directory (else to memory)."""
        return self._spooling

    @property
    def stats(self) -> Stats:
        """Counters: sent, duplicates, retried, spooled, dropped, rejected, pending."""
        return self._sender.stats()


class CentralLogger(_BaseLogger):
    __doc__ = _BaseLogger.__doc__

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait up to ``timeout`` s until every log enqueued so far is settled.

        Settled means stored by the service, refused by it, or dropped. Returns
        True only when every log enqueued since the previous ``flush()`` was
        delivered (stored, or already stored): False when time ran out (logs
        still waiting keep being retried) or when any was refused (a 4xx such as
        401 for a wrong key; see ``on_rejected`` and ``stats.rejected``) or
        dropped (``on_dropped``, ``stats.dropped``).
        """
        return self._flush(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Flush for up to ``timeout`` s, then stop. Idempotent.

        Unsent logs stay in the spool for the next start; without a spool they
        are counted as dropped. Returns what ``flush()`` returns: True only when
        everything was delivered.
        """
        return self._close(timeout)

    def __enter__(self) -> CentralLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncCentralLogger(_BaseLogger):
    """The asyncio flavour: same arguments and behaviour as :class:`CentralLogger`.

    ``log()`` and ``run()`` are plain calls (they only enqueue, so they never
    block the event loop) and ``run()`` works as ``async with``. ``flush()`` and
    ``aclose()`` are awaitable and wait in a worker thread. ``async with
    AsyncCentralLogger(...) as client:`` closes it at the end.
    """

    async def flush(self, timeout: float = 10.0) -> bool:
        """As :meth:`CentralLogger.flush`, without blocking the event loop."""
        return await asyncio.to_thread(self._flush, timeout)

    async def aclose(self, timeout: float = 10.0) -> bool:
        """As :meth:`CentralLogger.close`, without blocking the event loop."""
        return await asyncio.to_thread(self._close, timeout)

    async def __aenter__(self) -> AsyncCentralLogger:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

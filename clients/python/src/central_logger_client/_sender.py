"""The background sender: buffer, batches, retries with backoff, accounting."""

from __future__ import annotations

import functools
import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._errors import DeliveryError, DroppedError, RejectedError, SpoolError
from ._records import decode
from ._spool import Batch, MemoryStore, Store
from ._transport import Response, Transport

__all__ = ["Sender", "Stats"]

logger = logging.getLogger("central_logger_client")

RejectedCallback = Callable[[RejectedError], None]
DroppedCallback = Callable[[DroppedError], None]


@dataclass(frozen=True)
class Stats:
    """Counters of one client since it started (logs, not requests).

    ``sent`` logs the service confirmed stored (``duplicates`` of them it already
    had, which is how a retry after a lost answer shows up); ``retried`` log
    sends repeated after a failed attempt; ``spooled`` logs written to the spool
    directory (with a spool every batch is written there before it is sent);
    ``dropped`` logs discarded over a bound or at close; ``rejected`` logs the
    service refused; ``pending`` logs still waiting (memory and spool).
    """

    enqueued: int
    sent: int
    duplicates: int
    retried: int
    spooled: int
    dropped: int
    rejected: int
    pending: int


def _chunks(items: list[bytes], size: int) -> list[list[bytes]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class Sender:
    """Owns one daemon thread that moves logs from the buffer to the service."""

    def __init__(
        self,
        *,
        transport: Transport,
        store: Store,
        batch_size: int,
        flush_interval: float,
        max_queue: int,
        backoff_base: float,
        backoff_max: float,
        on_rejected: RejectedCallback | None,
        on_dropped: DroppedCallback | None,
    ) -> None:
        self._transport = transport
        self._store = store
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_queue = max_queue
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._on_rejected = on_rejected
        self._on_dropped = on_dropped
        self._rng = random.Random()  # noqa: S311 (jitter, not secrets)

        self._cond = threading.Condition(threading.Lock())
        self._buffer: deque[bytes] = deque()
        self._buffer_since = 0.0
        self._flushing = 0
        self._closed = False
        self._stop = False
        self._drops: dict[str, int] = {}

        # Counters, written under the lock.
        self._enqueued = store.count  # what an earlier process left in the spool
        self._settled = 0
        self._sent = 0
        self._duplicates = 0
        self._retried = 0
        self._spooled = 0
        self._dropped = 0
        self._rejected = 0
        # Logs refused or dropped, and how many of them a flush() has already reported.
        self._undelivered = 0
        self._undelivered_reported = 0

        # Retry state, owned by the sender thread.
        self._failures = 0
        self._next_attempt = 0.0

        self._thread = threading.Thread(
            target=self._loop, name="central-logger-sender", daemon=True
        )
        self._thread.start()
        if hasattr(os, "register_at_fork"):
            restart = functools.partial(_restart_in_child, weakref.ref(self))
            os.register_at_fork(after_in_child=restart)

    def _restart_in_child(self) -> None:
        """After ``fork()``: the child gets its own lock, queue, connections and thread.

        What the parent had queued stays the parent's to send. The spool stays
        the parent's too (its lock is shared with the child through the fork), so
        the child keeps unsent logs in memory.
        """
        self._cond = threading.Condition(threading.Lock())
        self._buffer = deque()
        self._flushing = 0
        self._drops = {}
        self._enqueued = self._settled = self._sent = self._duplicates = 0
        self._retried = self._spooled = self._dropped = self._rejected = 0
        self._undelivered = self._undelivered_reported = 0
        self._failures = 0
        self._next_attempt = 0.0
        if self._store.durable:
            logger.warning(
                "central-logger: forked process keeps unsent logs in memory, not in the "
                "parent's spool; create the client after forking to spool"
            )
        self._store = MemoryStore(self._max_queue)
        self._transport = self._transport.fresh()
        self._thread = threading.Thread(
            target=self._loop, name="central-logger-sender", daemon=True
        )
        if not self._stop:
            self._thread.start()

    # -- any thread ---------------------------------------------------------

    def enqueue(self, item: bytes) -> bool:
        with self._cond:
            if self._closed:
                self._count_drop(1, "client closed")
                return False
            if len(self._buffer) >= self._max_queue:
                self._buffer.popleft()
                self._count_drop(1, "in-memory queue full")
            if not self._buffer:
                # The sender may be asleep with nothing to time: start its clock.
                self._buffer_since = time.monotonic()
                self._cond.notify_all()
            self._buffer.append(item)
            self._enqueued += 1
            if len(self._buffer) == self._batch_size:
                self._cond.notify_all()
            return True

    def drop(self, count: int, reason: str) -> None:
        """Count logs that never made it into the queue (e.g. could not be encoded)."""
        with self._cond:
            self._enqueued += count
            self._count_drop(count, reason)

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            target = self._enqueued
            self._flushing += 1
            self._cond.notify_all()
            try:
                while self._settled < target and self._thread.is_alive():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                if self._settled < target:
                    return False
                # Settled is not delivered: a refused or dropped log makes it False,
                # reported once (the next flush() answers for the logs after it).
                delivered = self._undelivered == self._undelivered_reported
                self._undelivered_reported = self._undelivered
                return delivered
            finally:
                self._flushing -= 1

    def close(self, timeout: float) -> bool:
        """Flush for up to ``timeout`` seconds, then stop the thread.

        What is still waiting stays in the spool (if any) or is counted dropped.
        """
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._cond:
            already = self._closed
            self._closed = True
        if already:
            self._thread.join(max(timeout, 0.0))
            with self._cond:
                return self._settled >= self._enqueued and self._undelivered == 0
        flushed = self.flush(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(max(deadline - time.monotonic(), 0.0) + 1.0)
        if self._thread.is_alive():
            with self._cond:
                waiting = len(self._buffer) + (0 if self._store.durable else self._store.count)
            logger.warning(
                "central-logger: the sender is still busy at close (a request has not been "
                "answered); %d logs in memory are lost if the process exits now",
                waiting,
            )
        return flushed

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> Stats:
        with self._cond:
            return Stats(
                enqueued=self._enqueued,
                sent=self._sent,
                duplicates=self._duplicates,
                retried=self._retried,
                spooled=self._spooled,
                dropped=self._dropped,
                rejected=self._rejected,
                pending=len(self._buffer) + self._store.count,
            )

    # -- under the lock -----------------------------------------------------

    def _count_drop(self, count: int, reason: str) -> None:
        if count <= 0:
            return
        self._dropped += count
        self._undelivered += count
        self._settled += count
        self._drops[reason] = self._drops.get(reason, 0) + count
        self._cond.notify_all()

    # -- sender thread ------------------------------------------------------

    def _loop(self) -> None:
        while True:
            try:
                if not self._step():
                    break
            except Exception:  # a bug must not end delivery
                logger.exception("central-logger: unexpected error in the sender")
                time.sleep(0.5)
        try:
            self._finish()
        except Exception:
            logger.exception("central-logger: unexpected error while closing")
        with self._cond:
            self._cond.notify_all()

    def _step(self) -> bool:
        with self._cond:
            while True:
                now = time.monotonic()
                if self._stop:
                    break
                has_pending = self._store.count > 0
                can_send = now >= self._next_attempt
                # A flush hurries the buffer out only when it can be sent now: in
                # backoff it would only cut the spool into tiny files.
                buffer_ready = bool(self._buffer) and (
                    len(self._buffer) >= self._batch_size
                    or (self._flushing > 0 and can_send and not has_pending)
                    or self._closed
                    or now - self._buffer_since >= self._flush_interval
                )
                if buffer_ready or (has_pending and can_send) or self._drops:
                    break
                waits = []
                if self._buffer:
                    waits.append(self._buffer_since + self._flush_interval - now)
                if has_pending:
                    waits.append(self._next_attempt - now)
                self._cond.wait(max(min(waits), 0.001) if waits else None)
            taken = list(self._buffer)
            self._buffer.clear()
            drops, self._drops = self._drops, {}
            stop = self._stop
        self._report_drops(drops)
        for chunk in _chunks(taken, self._batch_size):
            if stop:
                self._park(chunk, 0)
            else:
                self._send_or_park(chunk)
        if stop:
            return False
        if self._store.count and time.monotonic() >= self._next_attempt:
            batch = self._store.peek()
            lost = self._store.take_lost()
            if lost:
                with self._cond:
                    self._count_drop(lost, "unreadable in the spool")
                    drops, self._drops = self._drops, {}
                self._report_drops(drops)
            if batch is not None:
                self._attempt(batch.items, batch)
        return True

    def _finish(self) -> None:
        left = self._store.count
        lost = self._store.close()
        if lost:
            with self._cond:
                self._count_drop(lost, "closed before delivery")
        elif left:
            logger.warning(
                "central-logger: %d logs stay in the spool and will be sent by the next start",
                left,
            )
        with self._cond:
            drops, self._drops = self._drops, {}
        self._report_drops(drops)
        self._transport.close()

    def _send_or_park(self, items: list[bytes]) -> None:
        ready = self._store.count == 0 and time.monotonic() >= self._next_attempt
        # Write-ahead: with a spool, a batch is on disk before it is sent, so a
        # crash or kill during the request loses none of it; the loop sends the
        # spool's head next. If the spool cannot be written (disk full?), the
        # network is still tried.
        if self._store.durable and self._park(items, 0, drop_on_error=not ready):
            return
        if ready:
            self._attempt(items, None)
        else:
            self._park(items, 0)

    def _park(self, items: list[bytes], attempts: int, *, drop_on_error: bool = True) -> bool:
        """Keep a batch for later (spool or memory), counting what the bound drops.

        Returns whether the batch was kept. When the spool cannot be written
        the batch is dropped (and counted), unless ``drop_on_error`` is false.
        """
        try:
            stored, dropped_older = self._store.add(items, attempts)
        except SpoolError as exc:
            logger.error("central-logger: %s", exc)
            if not drop_on_error:
                return False
            stored, dropped_older = 0, 0
        with self._cond:
            if self._store.durable:
                self._spooled += stored
            reason = "spool full" if self._store.durable else "retry queue full"
            self._count_drop(dropped_older + len(items) - stored, reason)
            drops, self._drops = self._drops, {}
        self._report_drops(drops)
        return stored > 0

    def _attempt(self, items: list[bytes], batch: Batch | None) -> None:
        """One POST of ``items``; ``batch`` is their place in the store, if any."""
        if batch is not None and batch.attempts > 0:
            with self._cond:
                self._retried += len(items)
        try:
            response = self._transport.post(items)
        except DeliveryError as exc:
            self._failed(items, batch, exc)
            return
        code = response.status_code
        if 200 <= code < 300:
            self._succeeded(items, batch, response)
        elif code in (400, 413) and len(items) > 1:
            # 413: too large. 400: the body is malformed, which one bad log can
            # cause: halve the batch until the culprit is alone and refused.
            half = len(items) // 2
            parts = [items[:half], items[half:]]
            logger.info(
                "central-logger: batch of %d refused with HTTP %d; splitting it", len(items), code
            )
            if batch is not None:
                try:
                    self._store.replace_head(batch, parts)
                except SpoolError as exc:  # keep the whole batch; try again later
                    self._failed(items, batch, DeliveryError(str(exc)))
            else:
                for part in parts:
                    self._send_or_park(part)
        elif code == 415 and self._transport.compress:
            logger.warning("central-logger: the service refuses gzip bodies; sending plain JSON")
            self._transport.compress = False
            self._attempt(items, batch)
        elif code in (408, 429) or code >= 500:
            self._failed(
                items,
                batch,
                DeliveryError(
                    f"HTTP {code}: {_detail(response.body)}",
                    status_code=code,
                    retry_after=response.retry_after,
                ),
            )
        else:
            if batch is not None:
                self._store.pop(batch)
            self._reject(
                items,
                [_errors_of(response.body)] * len(items),
                code,
                f"the service refused a batch of {len(items)} logs with HTTP {code}: "
                f"{_detail(response.body)}",
            )

    def _failed(self, items: list[bytes], batch: Batch | None, exc: DeliveryError) -> None:
        self._failures += 1
        ceiling = min(self._backoff_max, self._backoff_base * 2 ** min(self._failures - 1, 30))
        delay = self._rng.uniform(0.0, ceiling)
        if exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        self._next_attempt = time.monotonic() + delay
        level = logging.WARNING if self._failures == 1 else logging.DEBUG
        logger.log(
            level,
            "central-logger: sending %d logs failed (%s); retry %d in %.2fs",
            len(items),
            exc,
            self._failures,
            delay,
        )
        if batch is not None:
            batch.attempts += 1
        else:
            self._park(items, 1)

    def _succeeded(self, items: list[bytes], batch: Batch | None, response: Response) -> None:
        if self._failures:
            logger.info("central-logger: delivering again after %d failed attempts", self._failures)
        self._failures = 0
        self._next_attempt = 0.0
        rejected: list[tuple[int, list[dict[str, Any]]]] = []
        duplicates = 0
        body = response.body
        outcomes = body.get("items") if isinstance(body, dict) else None
        if isinstance(outcomes, list):
            for position, outcome in enumerate(outcomes):
                if not isinstance(outcome, dict):
                    continue
                kind = outcome.get("outcome")
                index = outcome.get("index", position)
                if not isinstance(index, int) or not 0 <= index < len(items):
                    index = position
                if kind == "duplicate":
                    duplicates += 1
                elif kind == "rejected":
                    errors = outcome.get("errors")
                    rejected.append((index, errors if isinstance(errors, list) else []))
        if batch is not None:
            self._store.pop(batch)
        with self._cond:
            self._sent += len(items) - len(rejected)
            self._duplicates += duplicates
            self._settled += len(items) - len(rejected)
            self._cond.notify_all()
        if rejected:
            self._reject(
                [items[i] for i, _ in rejected],
                [errors for _, errors in rejected],
                response.status_code,
                f"the service rejected {len(rejected)} of {len(items)} logs in a batch",
            )

    def _reject(
        self,
        items: list[bytes],
        errors: list[list[dict[str, Any]]],
        status_code: int,
        message: str,
    ) -> None:
        with self._cond:
            self._rejected += len(items)
            self._undelivered += len(items)
            self._settled += len(items)
            self._cond.notify_all()
        error = RejectedError(
            message, status_code=status_code, logs=[decode(i) for i in items], errors=errors
        )
        first = errors[0] if errors else []
        logger.error("central-logger: %s; first reasons: %s", message, first[:3])
        if self._on_rejected is not None:
            try:
                self._on_rejected(error)
            except Exception:
                logger.exception("central-logger: the on_rejected callback raised")

    def _report_drops(self, drops: dict[str, int]) -> None:
        for reason, count in drops.items():
            message = f"dropped {count} logs: {reason}"
            logger.error("central-logger: %s", message)
            if self._on_dropped is not None:
                try:
                    self._on_dropped(DroppedError(message, count=count, reason=reason))
                except Exception:
                    logger.exception("central-logger: the on_dropped callback raised")


def _restart_in_child(ref: weakref.ReferenceType[Sender]) -> None:
    sender = ref()
    if sender is not None:
        try:
            sender._restart_in_child()
        except Exception:
            logger.exception("central-logger: could not restart the sender after fork")


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("detail", "title", "message"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return str(body)[:200] if body is not None else "no body"


def _errors_of(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list):
            return [e for e in errors if isinstance(e, dict)]
        return [{"field": None, "reason": _detail(body)}]
    return [{"field": None, "reason": _detail(body)}]

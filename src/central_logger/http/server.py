"""How `central-logger serve` runs uvicorn: a header cap where the bytes arrive, and
workers that never outlive the process that started them.

The header cap: uvicorn's default HTTP parser (httptools) buffers a request's whole
head, however large, before the app sees any of it, so the app's own check
(`HeaderSizeLimit`, 431 with a problem) comes too late to bound memory: 400 MB of header
lines over 4 connections grew the service by 315 MB. `HeaderCappedHttpToolsProtocol`
counts the head's bytes as they are read and answers 431 and closes the connection past
the cap. (uvicorn's h11 parser has such a cap, but costs the throughput measured in
docs/reliability.md.)
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from central_logger.settings import Settings

logger = logging.getLogger(__name__)

# The request line (method, URL, version) may add this much to MAX_HEADER_BYTES on the
# wire; nginx refuses a request line over 8 KiB by default too.
REQUEST_LINE_ALLOWANCE = 8 * 1024

_REFUSAL_BODY = (
    b'{"type":"about:blank","title":"Request Header Fields Too Large","status":431,'
    b'"detail":"The request line and headers are larger than the server accepts",'
    b'"errors":[{"field":"header","reason":"too large"}]}'
)
_REFUSAL = b"".join(
    [
        STATUS_LINE[431],
        b"content-type: application/problem+json\r\n",
        b"content-length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
        _REFUSAL_BODY,
    ]
)


def head_limit(settings: Settings) -> int:
    """The most bytes a request's head (request line and headers) may take on the wire."""
    return settings.max_header_bytes + REQUEST_LINE_ALLOWANCE


class HeaderCappedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a head larger than the config's
    `h11_max_incomplete_event_size` (uvicorn's own knob for this cap, which only its h11
    protocol reads), counted as it arrives: memory per connection stays within the cap
    plus one read."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._head_limit = (
            config.h11_max_incomplete_event_size or 16 * 1024 + REQUEST_LINE_ALLOWANCE
        )
        self._head_bytes = 0
        self._in_head = True

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Counted after parsing, so a read that ends a head and carries body is not
        # mistaken for head; a read still inside a head is all head.
        if not self._in_head or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > self._head_limit:
            self.logger.warning(
                "Refused a request head over %d bytes from %s", self._head_limit, self.client
            )
            self.transport.write(_REFUSAL)
            self.transport.close()
            self._in_head = False


class ShutdownCancellationLog(logging.Filter):
    """On "uvicorn.error": a request cancelled at SHUTDOWN_TIMEOUT_SECONDS is expected (a
    slow upload, by design), yet uvicorn logs it as "Exception in ASGI application"
    with a traceback through the whole stack; one warning line says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, asyncio.CancelledError) and "graceful shutdown" in str(exc):
            record.msg = "A request still in flight at the shutdown timeout was cancelled"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def install_shutdown_cancellation_log() -> None:
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, ShutdownCancellationLog) for f in error_log.filters):
        error_log.addFilter(ShutdownCancellationLog())


# Set by `serve` for its workers: the pid of the process that supervises them.
SUPERVISOR_PID_ENV = "CENTRAL_LOGGER_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1
_ORPHAN_CHECK_SECONDS = 0.5


def _ask_kernel_for_sigterm_on_parent_death() -> None:
    if not sys.platform.startswith("linux"):
        return
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        logger.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())


async def _stop_when_orphaned(supervisor_pid: int) -> None:
    # Nothing signals a parent's death portably: polling is the way.
    while os.getppid() == supervisor_pid:  # noqa: ASYNC110
        await asyncio.sleep(_ORPHAN_CHECK_SECONDS)
    _stop_orphan(supervisor_pid)


def _stop_orphan(supervisor_pid: int) -> None:
    logger.error("the serving process %d is gone: this worker stops too", supervisor_pid)
    # uvicorn's own SIGTERM handling: a graceful stop within SHUTDOWN_TIMEOUT_SECONDS.
    os.kill(os.getpid(), signal.SIGTERM)


def watch_supervisor() -> asyncio.Task[None] | None:
    """In a worker of `serve --workers N` (call it from the event loop at start-up): stop
    gracefully, through SIGTERM, as soon as the supervising process is gone, even killed
    with SIGKILL, so no orphan keeps the port or the embedded database. The kernel's
    parent-death signal does it on Linux; a check of the parent pid (the task returned,
    to cancel at shutdown) does it everywhere, and covers a parent that died before the
    signal was asked for. Outside such a worker: nothing, None."""
    supervisor = os.environ.get(SUPERVISOR_PID_ENV, "")
    if not supervisor.isdigit() or int(supervisor) == os.getpid():
        return None
    supervisor_pid = int(supervisor)
    _ask_kernel_for_sigterm_on_parent_death()
    if os.getppid() != supervisor_pid:
        _stop_orphan(supervisor_pid)
    return asyncio.create_task(_stop_when_orphaned(supervisor_pid))


def tls_files(
    settings: Settings, *, certfile: Path | None, keyfile: Path | None
) -> tuple[str, str] | None:
    """uvicorn's ssl_certfile/ssl_keyfile for `serve`, from its options or else
    SSL_CERTFILE/SSL_KEYFILE; None for plain HTTP. Both or neither, and readable: a
    typo must stop the start, not serve plain HTTP where HTTPS was meant."""
    cert = certfile or settings.ssl_certfile
    key = keyfile or settings.ssl_keyfile
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise SystemExit(
            "HTTPS needs both a certificate and its key (--ssl-certfile, --ssl-keyfile)"
        )
    for path in (cert, key):
        if not path.is_file():
            raise SystemExit(f"HTTPS: no such file: {path}")
    return str(cert), str(key)


def on_stop_signal(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` on the event loop as soon as SIGTERM or SIGINT arrives, before
    uvicorn's own handling (which it then runs as before): uvicorn waits for open
    connections to end before the app's shutdown, and a stream (the live tail) never
    ends by itself. Call it from the event loop's (main) thread at start-up; returns
    what puts the previous handlers back. Outside uvicorn (no handler of its own to
    chain to) or off the main thread: nothing."""
    loop = asyncio.get_running_loop()
    previous_handlers: dict[int, Any] = {}
    for stop in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(stop)
        if not callable(previous) or previous is signal.default_int_handler:
            continue

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(callback)
            previous(signum, frame)

        try:
            signal.signal(stop, handler)
        except ValueError:  # not the main thread
            break
        previous_handlers[stop] = previous

    def restore() -> None:
        for stop, previous in previous_handlers.items():
            with contextlib.suppress(ValueError):
                signal.signal(stop, previous)

    return restore

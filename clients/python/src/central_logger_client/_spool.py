"""Where batches wait between failed attempts: in memory, or in a spool directory.

Both stores are used by the sender thread only (``count``/``bytes`` may be read
from any thread). Each is bounded and drops its *oldest* batches to make room;
``add`` says how many logs it kept and dropped so the caller can count and report them.

Spool layout and crash safety: one file per batch, ``<ns>-<pid>-<seq>.<count>.batch``,
holding one JSON log per line. A file is written under a temporary name, flushed
and ``fsync``-ed, renamed into place with ``os.replace`` and then the directory is
``fsync``-ed, so after a crash a batch file is either whole or absent (leftover
temporary files are removed on start). A file is deleted once the service has
answered for its logs. With a spool every batch is written before it is sent
(write-ahead: one file and two ``fsync`` calls per batch, at most one batch per
``flush_interval`` or per ``batch_size`` logs), so only logs still in the
in-memory buffer can be lost by a crash; a crash between the answer and the delete only re-sends
logs whose ids the service already has, which it stores once. File names sort
oldest first and carry their log count, so a restart lists the directory
without reading it; a batch's logs are read back only when it is next to be
sent (the spool costs disk, not memory). One process at a time owns a spool
directory (an exclusive ``flock`` on ``.lock``); a second process that finds it
locked keeps its logs in memory instead and says so.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from ._errors import SpoolError

__all__ = ["Batch", "MemoryStore", "SpoolStore", "Store"]

logger = logging.getLogger("central_logger_client")

_SUFFIX = ".batch"
_TMP_SUFFIX = ".tmp"


@dataclass
class Batch:
    """Logs sent together. A spooled batch's ``items`` are read from its file
    only when it is next to be sent (``peek``), so the spool costs no memory."""

    items: list[bytes]
    count: int
    attempts: int = 0
    path: Path | None = None
    size: int = field(default=0)


class Store(Protocol):
    """A FIFO of batches waiting for delivery."""

    durable: bool

    @property
    def count(self) -> int:
        """Logs waiting."""

    def add(self, items: list[bytes], attempts: int) -> tuple[int, int]:
        """Append a batch; return (logs of it stored, older logs dropped to make room)."""

    def peek(self) -> Batch | None:
        """The oldest batch, or None."""

    def pop(self, batch: Batch) -> None:
        """Forget ``batch`` (the one ``peek`` gave): its logs are settled."""

    def replace_head(self, batch: Batch, parts: list[list[bytes]]) -> None:
        """Split the oldest batch into smaller ones, in order."""

    def take_lost(self) -> int:
        """Logs found unreadable since the last call (spool files damaged on disk)."""

    def close(self) -> int:
        """Release resources; return how many logs are lost with the store."""


class MemoryStore:
    """A bounded queue of batches in memory: at most ``max_logs`` logs."""

    durable = False

    def __init__(self, max_logs: int) -> None:
        self._max = max_logs
        self._batches: deque[Batch] = deque()
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def add(self, items: list[bytes], attempts: int) -> tuple[int, int]:
        dropped = 0
        if len(items) > self._max:
            items = items[-self._max :]
        while self._batches and self._count + len(items) > self._max:
            old = self._batches.popleft()
            self._count -= old.count
            dropped += old.count
        self._batches.append(Batch(items, len(items), attempts))
        self._count += len(items)
        return len(items), dropped

    def peek(self) -> Batch | None:
        return self._batches[0] if self._batches else None

    def pop(self, batch: Batch) -> None:
        if self._batches and self._batches[0] is batch:
            self._batches.popleft()
            self._count -= batch.count

    def replace_head(self, batch: Batch, parts: list[list[bytes]]) -> None:
        self.pop(batch)
        for part in reversed(parts):
            self._batches.appendleft(Batch(part, len(part), batch.attempts))
            self._count += len(part)

    def take_lost(self) -> int:
        return 0

    def close(self) -> int:
        lost = self._count
        self._batches.clear()
        self._count = 0
        return lost


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolStore:
    """Batches as files in ``directory``, at most ``max_bytes`` of them on disk.

    Raises :class:`SpoolError` from the constructor when the directory cannot be
    created or is owned by another live process, and from ``add`` when a file
    cannot be written.
    """

    durable = True

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self._max = max_bytes
        self._seq = itertools.count()
        self._batches: deque[Batch] = deque()
        self._count = 0
        self._bytes = 0
        self._lost = 0
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._lock_file: IO[bytes] | None = open(directory / ".lock", "ab")  # noqa: SIM115
        except OSError as exc:
            raise SpoolError(f"cannot use spool directory {directory}: {exc}") from exc
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.close()
            self._lock_file = None
            raise SpoolError(f"spool directory {directory} is in use by another process") from exc
        self._load()

    @property
    def count(self) -> int:
        return self._count

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def _load(self) -> None:
        for path in self.directory.glob("*" + _TMP_SUFFIX):
            path.unlink(missing_ok=True)
        for path in sorted(self.directory.glob("*" + _SUFFIX)):
            base, _, declared = path.name[: -len(_SUFFIX)].rpartition(".")
            try:
                size = path.stat().st_size
                if base and declared.isdigit():
                    count = int(declared)
                else:  # not named by this version: count its lines
                    count = sum(1 for line in path.read_bytes().splitlines() if line.strip())
            except OSError as exc:
                logger.error("central-logger: cannot read spool file %s: %s", path, exc)
                continue
            if count == 0:
                path.unlink(missing_ok=True)
                continue
            # They failed at least once in an earlier process.
            self._batches.append(Batch([], count, 1, path, size))
            self._count += count
            self._bytes += size

    def _write(self, items: list[bytes], base: str | None = None) -> Batch:
        data = b"\n".join(items) + b"\n"
        if base is None:
            base = f"{time.time_ns():020d}-{os.getpid()}-{next(self._seq):08d}"
        # The name carries the count, so a restart need not read the files.
        final = self.directory / f"{base}.{len(items)}{_SUFFIX}"
        tmp = self.directory / f"{base}{_TMP_SUFFIX}"
        try:
            with open(tmp, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, final)
            _fsync_dir(self.directory)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise SpoolError(f"cannot write spool file {final}: {exc}") from exc
        return Batch([], len(items), 0, final, len(data))

    def _drop_oldest(self) -> int:
        old = self._batches.popleft()
        self._forget(old)
        return old.count

    def _forget(self, batch: Batch) -> None:
        self._count -= batch.count
        self._bytes -= batch.size
        batch.items = []
        if batch.path is not None:
            try:
                batch.path.unlink(missing_ok=True)
            except OSError as exc:
                logger.error("central-logger: cannot delete spool file %s: %s", batch.path, exc)

    def add(self, items: list[bytes], attempts: int) -> tuple[int, int]:
        size = sum(len(i) + 1 for i in items)
        if size > self._max:
            return 0, 0
        dropped = 0
        while self._batches and self._bytes + size > self._max:
            dropped += self._drop_oldest()
        batch = self._write(items)
        batch.attempts = attempts
        if not self._batches:  # sent next: keep it in memory too
            batch.items = items
        self._batches.append(batch)
        self._count += batch.count
        self._bytes += batch.size
        return len(items), dropped

    def peek(self) -> Batch | None:
        while self._batches:
            head = self._batches[0]
            if head.items or head.path is None:
                return head
            try:
                data = head.path.read_bytes()
            except OSError as exc:
                logger.error("central-logger: cannot read spool file %s: %s", head.path, exc)
                data = b""
            items = [line for line in data.splitlines() if line.strip()]
            if len(items) < head.count:
                self._lost += head.count - len(items)
            self._count += len(items) - head.count
            head.count = len(items)
            if items:
                head.items = items
                return head
            self._batches.popleft()
            self._forget(head)
        return None

    def pop(self, batch: Batch) -> None:
        if self._batches and self._batches[0] is batch:
            self._batches.popleft()
            self._forget(batch)

    def replace_head(self, batch: Batch, parts: list[list[bytes]]) -> None:
        # Parts keep the head's place in the file order: "<base>-0000.<n>.batch", ...
        base = None
        if batch.path is not None:
            base = batch.path.name[: -len(_SUFFIX)].rpartition(".")[0] or None
        written = [
            self._write(part, None if base is None else f"{base}-{i:04d}")
            for i, part in enumerate(parts)
        ]
        self.pop(batch)
        for new in reversed(written):
            new.attempts = batch.attempts
            self._batches.appendleft(new)
            self._count += new.count
            self._bytes += new.size

    def take_lost(self) -> int:
        lost, self._lost = self._lost, 0
        return lost

    def close(self) -> int:
        if self._lock_file is not None:
            try:
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            finally:
                self._lock_file.close()
                self._lock_file = None
        return 0

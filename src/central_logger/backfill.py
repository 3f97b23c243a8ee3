"""`central-logger ship`: backfill newline-delimited JSON logs through the Python
shipper (clients/python), so files get the same batching, retries and idempotent
ids as live workflows."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

# Enqueue no further ahead of the sender than this, so a large file never makes the
# client's bounded queue drop logs.
_MAX_AHEAD = 5_000


@dataclass
class ShipSummary:
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    dropped: int = 0
    flushed: bool = True
    # Logs handed to the shipper that were neither stored nor refused when it gave up
    # (the service unreachable for `timeout` seconds); left in the spool, if one is used.
    undelivered: int = 0
    gave_up: bool = False
    rejected_lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.flushed and self.rejected == 0 and self.dropped == 0 and not self.gave_up


def _lines(paths: list[str]) -> Iterator[tuple[str, int, bytes]]:
    for name in paths:
        handle: IO[bytes] = sys.stdin.buffer if name == "-" else Path(name).open("rb")  # noqa: SIM115
        try:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield name, number, line
        finally:
            if handle is not sys.stdin.buffer:
                handle.close()


def ship_files(
    paths: list[str],
    *,
    url: str,
    api_key: str,
    api_key_header: str,
    show_progress: bool,
    timeout: float = 60.0,
    spool_dir: Path | None = None,
) -> ShipSummary:
    """Ship every line; give up once `timeout` seconds pass with nothing delivered (the
    service unreachable or too slow), keeping what is left in `spool_dir` if given."""
    from central_logger_client import CentralLogger, RejectedError

    summary = ShipSummary()
    where: dict[str, str] = {}
    lock = threading.Lock()

    def on_rejected(error: RejectedError) -> None:
        with lock:
            for log, reasons in zip(error.logs, error.errors, strict=False):
                summary.rejected_lines.append(
                    {"line": where.get(str(log.get("id")), "?"), "errors": reasons, "log": log}
                )

    client = CentralLogger(
        url,
        api_key,
        api_key_header=api_key_header,
        flush_interval=0.2,
        on_rejected=on_rejected,
        spool_dir=spool_dir,
        # One request never outlasts the whole wait.
        timeout=max(0.5, min(10.0, timeout)),
        max_backoff=max(0.5, min(30.0, timeout / 4)),
        # What is left when we give up is reported below, not printed at exit.
        atexit_timeout=0.1,
    )
    shipped = 0
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not show_progress,
    )
    with progress:
        task = progress.add_task("shipping", total=None)
        for name, number, line in _lines(paths):
            summary.lines += 1
            location = f"{name}:{number}"
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                record = None
                reason = f"not valid JSON: {exc}"
            else:
                reason = "" if isinstance(record, dict) else "not a JSON object"
            if reason:
                summary.rejected_lines.append(
                    {"line": location, "errors": [{"field": "line", "reason": reason}]}
                )
                continue
            assert isinstance(record, dict)
            where[client.ship(record)] = location
            shipped += 1
            if not _wait_for_room(client, timeout):
                summary.gave_up = True
                break
            progress.update(task, completed=summary.lines - client.stats.pending)
        if not summary.gave_up:
            summary.gave_up = not _wait_until_settled(client, timeout)
        left = client.stats
        summary.undelivered = max(0, shipped - left.sent - left.rejected - left.dropped)
        client.close(timeout=0 if summary.gave_up else timeout)
        summary.flushed = not summary.gave_up and summary.undelivered == 0
        progress.update(task, completed=summary.lines)

    stats = client.stats
    summary.accepted = stats.sent - stats.duplicates
    summary.duplicates = stats.duplicates
    summary.dropped = stats.dropped
    summary.rejected = len(summary.rejected_lines)
    return summary


def _wait_for_room(client: Any, timeout: float) -> bool:
    """Wait while the shipper is too far ahead; False once nothing moved for `timeout` s."""
    last, since = client.stats.pending, time.monotonic()
    while last > _MAX_AHEAD:
        time.sleep(0.01)
        pending = client.stats.pending
        if pending < last:
            last, since = pending, time.monotonic()
        elif time.monotonic() - since > timeout:
            return False
    return True


def _wait_until_settled(client: Any, timeout: float) -> bool:
    """flush() until nothing is pending; False once nothing moved for `timeout` s."""
    last, since = client.stats.pending, time.monotonic()
    while True:
        client.flush(timeout=min(1.0, timeout))
        pending = client.stats.pending
        if pending == 0:
            return True
        if pending < last:
            last, since = pending, time.monotonic()
        elif time.monotonic() - since > timeout:
            return False


def write_rejected(summary: ShipSummary, path: Path) -> None:
    with path.open("wb") as out:
        for entry in summary.rejected_lines:
            out.write(orjson.dumps(entry) + b"\n")

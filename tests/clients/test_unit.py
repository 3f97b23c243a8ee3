"""Unit tests of the shipper against a scripted stub (retry, backoff, bounds, shape).

What the shipper does against the real service is in test_service.py.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from central_logger_client import (
    AsyncCentralLogger,
    CentralLogger,
    ConfigurationError,
    DroppedError,
    RejectedError,
)
from central_logger_client._records import new_id
from central_logger_client._transport import parse_retry_after

Stub = Any  # the fixture's class lives in conftest.py

FAST: dict[str, Any] = {
    "flush_interval": 0.05,
    "backoff_base": 0.05,
    "max_backoff": 0.2,
    "timeout": 2.0,
}


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_ids_are_uuid7_and_ordered() -> None:
    ids = [new_id() for _ in range(50)]
    assert all(i[14] == "7" for i in ids)
    assert all(i[19] in "89ab" for i in ids)
    assert len(set(ids)) == 50
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)


def test_retry_after_parsing() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("100000") == 600.0


def test_bad_configuration_raises() -> None:
    with pytest.raises(ConfigurationError):
        CentralLogger("localhost:8000", "k")
    with pytest.raises(ConfigurationError):
        CentralLogger("http://x", "k", batch_size=5000)


def test_batches_are_gzipped_and_carry_the_key(stub: Stub) -> None:
    client = CentralLogger(stub.url, "secret", batch_size=10, **FAST)
    ids = [client.log(status="SUCCESS", ticket_id=f"T-{i}") for i in range(25)]
    assert client.flush(5)
    client.close(2)
    assert [log["id"] for log in stub.logs()] == ids
    assert all(len(logs) <= 10 for _, _, logs in stub.requests)
    _, headers, _ = stub.requests[0]
    assert headers["Content-Encoding"] == "gzip"
    assert headers["X-API-Key"] == "secret"
    assert client.stats.sent == 25
    assert client.stats.pending == 0


def test_logs_go_out_after_flush_interval_without_flush(stub: Stub) -> None:
    client = CentralLogger(stub.url, "k", **FAST)
    log_id = client.log(status="SUCCESS")
    deadline = time.monotonic() + 5
    while not stub.logs() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [log["id"] for log in stub.logs()] == [log_id]
    client.close(1)


def test_503_is_retried_after_retry_after(stub: Stub) -> None:
    stub.script.append((503, {"Retry-After": "1"}, {"detail": "database unavailable"}))
    client = CentralLogger(stub.url, "k", **FAST)
    client.log(status="SUCCESS")
    assert client.flush(5)
    client.close(2)
    (t0, _, first), (t1, _, second) = stub.requests
    assert first == second
    assert t1 - t0 >= 0.95
    stats = client.stats
    assert (stats.sent, stats.retried, stats.rejected, stats.dropped) == (1, 1, 0, 0)


def test_500_and_429_backoff_then_delivery(stub: Stub) -> None:
    stub.script.extend([(500, {}, {}), (429, {}, {}), (502, {}, {})])
    client = CentralLogger(stub.url, "k", **FAST)
    client.log(status="SUCCESS")
    assert client.flush(10)
    client.close(2)
    assert len(stub.requests) == 4
    assert client.stats.retried == 3
    assert client.stats.sent == 1


def test_4xx_batch_is_reported_not_retried(stub: Stub) -> None:
    problem = {"status": 401, "detail": "unknown API key", "errors": []}
    stub.script.append((401, {}, problem))
    seen: list[RejectedError] = []
    client = CentralLogger(stub.url, "bad", on_rejected=seen.append, **FAST)
    client.log(status="SUCCESS", ticket_id="A")
    client.log(status="SUCCESS", ticket_id="B")
    # Settled in time, but refused: flush() says they were not delivered, once.
    assert not client.flush(5)
    assert client.stats.pending == 0
    assert client.flush(1)
    time.sleep(0.3)
    client.close(2)
    assert len(stub.requests) == 1
    assert len(seen) == 1
    assert seen[0].status_code == 401
    assert [log["ticket_id"] for log in seen[0].logs] == ["A", "B"]
    assert client.stats.rejected == 2
    assert client.stats.retried == 0


def test_rejected_items_inside_a_200_are_reported(stub: Stub) -> None:
    body = {
        "accepted": 1,
        "duplicates": 1,
        "rejected": 1,
        "items": [
            {"index": 0, "id": "a", "outcome": "accepted"},
            {"index": 1, "id": "b", "outcome": "duplicate"},
            {
                "index": 2,
                "id": None,
                "outcome": "rejected",
                "errors": [{"field": "status", "reason": "too long"}],
            },
        ],
    }
    stub.script.append((200, {}, body))
    seen: list[RejectedError] = []
    client = CentralLogger(stub.url, "k", on_rejected=seen.append, **FAST)
    for ticket in ("A", "B", "C"):
        client.log(status="SUCCESS", ticket_id=ticket)
    assert not client.flush(5)  # one of the three was refused
    assert client.stats.pending == 0
    client.close(2)
    assert len(seen) == 1
    assert seen[0].logs[0]["ticket_id"] == "C"
    assert seen[0].errors == [[{"field": "status", "reason": "too long"}]]
    stats = client.stats
    assert (stats.sent, stats.duplicates, stats.rejected) == (2, 1, 1)


def test_413_splits_the_batch(stub: Stub) -> None:
    stub.script.append((413, {}, {"detail": "too large"}))
    client = CentralLogger(stub.url, "k", **FAST)
    for i in range(8):
        client.log(status="SUCCESS", ticket_id=str(i))
    assert client.flush(5)
    client.close(2)
    assert sorted(int(log["ticket_id"]) for log in stub.logs()[8:]) == list(range(8))
    assert client.stats.sent == 8
    assert client.stats.rejected == 0


def test_400_halves_the_batch_until_the_bad_log_is_alone(stub: Stub) -> None:
    bad: tuple[int, dict[str, str], Any] = (
        400,
        {},
        {"detail": "The request body is not valid JSON"},
    )
    # 8 logs -> 4+4 (first half bad) -> 2+2 (first half bad) -> 1+1 (first bad: refused).
    stub.script.extend([bad, bad, bad, bad])
    seen: list[RejectedError] = []
    client = CentralLogger(stub.url, "k", on_rejected=seen.append, **FAST)
    for i in range(8):
        client.log(status="SUCCESS", ticket_id=str(i))
    assert not client.flush(5)  # the bad one was refused
    assert client.stats.pending == 0
    client.close(2)
    stats = client.stats
    assert (stats.sent, stats.rejected, stats.retried) == (7, 1, 0)
    assert [log["ticket_id"] for e in seen for log in e.logs] == ["0"]
    assert seen[0].status_code == 400


def test_415_falls_back_to_plain_json(stub: Stub) -> None:
    stub.script.append((415, {}, {"detail": "gzip not supported"}))
    client = CentralLogger(stub.url, "k", **FAST)
    client.log(status="SUCCESS")
    assert client.flush(5)
    client.close(2)
    assert "Content-Encoding" not in stub.requests[1][1]
    assert client.stats.sent == 1


def test_memory_queue_is_bounded_and_counts_drops() -> None:
    drops: list[DroppedError] = []
    client = CentralLogger(
        _dead_url(), "k", batch_size=10, max_queue=20, on_dropped=drops.append, **FAST
    )
    for _ in range(100):
        client.log(status="SUCCESS")
    assert not client.flush(1.0)
    client.close(0.2)
    stats = client.stats
    assert stats.sent == 0
    assert stats.dropped == 100  # over the bounds, then the rest at close
    assert stats.pending == 0
    assert sum(d.count for d in drops) == 100
    assert {d.reason for d in drops} >= {"closed before delivery"}


def test_spool_is_bounded_in_bytes_and_counts_drops(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    client = CentralLogger(
        _dead_url(),
        "k",
        batch_size=10,
        spool_dir=spool,
        spool_max_bytes=8_000,
        **FAST,
    )
    for i in range(200):
        client.log(status="SUCCESS", ticket_id=f"T-{i}", payload={"pad": "x" * 100})
    assert not client.flush(1.5)
    client.close(0.2)
    stats = client.stats
    on_disk = sum(p.stat().st_size for p in spool.glob("*.batch"))
    assert on_disk <= 8_000
    kept = sum(len(p.read_bytes().splitlines()) for p in spool.glob("*.batch"))
    assert kept + stats.dropped == 200
    assert stats.dropped > 0
    assert stats.spooled >= kept
    # The newest logs are the ones kept.
    tickets = [
        json.loads(line)["ticket_id"]
        for p in sorted(spool.glob("*.batch"))
        for line in p.read_bytes().splitlines()
    ]
    assert tickets[-1] == "T-199"


def test_spool_is_sent_oldest_first_by_the_next_client(stub: Stub, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    first = CentralLogger(_dead_url(), "k", batch_size=5, spool_dir=spool, **FAST)
    for i in range(12):
        first.log(status="SUCCESS", ticket_id=str(i))
    first.flush(0.5)
    first.close(0.1)
    assert first.stats.spooled == 12
    second = CentralLogger(stub.url, "k", batch_size=5, spool_dir=spool, **FAST)
    second.log(status="SUCCESS", ticket_id="new")
    assert second.flush(5)
    second.close(2)
    assert [log["ticket_id"] for log in stub.logs()] == [*map(str, range(12)), "new"]
    assert list(spool.glob("*.batch")) == []


def _spool_some(spool: Path, count: int, batch_size: int) -> None:
    first = CentralLogger(_dead_url(), "k", batch_size=batch_size, spool_dir=spool, **FAST)
    for i in range(count):
        first.log(status="SUCCESS", ticket_id=str(i))
    deadline = time.monotonic() + 5
    while first.stats.spooled < count and time.monotonic() < deadline:
        time.sleep(0.02)
    first.close(0.1)
    assert first.stats.spooled == count


def test_a_spooled_batch_too_large_is_split_in_place(stub: Stub, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    _spool_some(spool, 8, 8)
    stub.script.extend([(413, {}, {"detail": "too large"})])
    second = CentralLogger(stub.url, "k", spool_dir=spool, **FAST)
    assert second.flush(5)
    second.close(2)
    assert [log["ticket_id"] for log in stub.logs()[8:]] == [str(i) for i in range(8)]
    assert second.stats.sent == 8
    assert list(spool.glob("*.batch")) == []


def test_damaged_spool_files_are_counted_not_fatal(stub: Stub, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    _spool_some(spool, 6, 3)
    first = sorted(spool.glob("*.batch"))[0]
    lines = first.read_bytes().splitlines()
    assert len(lines) >= 2
    first.write_bytes(lines[0] + b"\n")  # the others of this file are lost on disk
    lost = len(lines) - 1
    drops: list[DroppedError] = []
    client = CentralLogger(stub.url, "k", spool_dir=spool, on_dropped=drops.append, **FAST)
    assert not client.flush(5)  # the damaged file's logs were dropped
    assert client.stats.pending == 0
    client.close(2)
    stats = client.stats
    assert (stats.sent, stats.dropped, stats.pending) == (6 - lost, lost, 0)
    assert [d.count for d in drops] == [lost]
    assert [log["ticket_id"] for log in stub.logs()] == ["0", *map(str, range(len(lines), 6))]


HANGING_CHILD = """
import sys, time
from central_logger_client import CentralLogger

client = CentralLogger(sys.argv[1], "k", spool_dir=sys.argv[2], flush_interval=0.05, timeout=60)
for i in range(20):
    client.log(status="SUCCESS", ticket_id=str(i))
time.sleep(60)
"""


def test_a_batch_in_flight_is_already_in_the_spool(
    stub: Stub, tmp_path: Path, child_env: dict[str, str]
) -> None:
    """Write-ahead: a process killed while the service has not answered loses nothing."""
    spool = tmp_path / "spool"
    with socket.socket() as black_hole:  # accepts connections (backlog), never answers
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(8)
        url = f"http://127.0.0.1:{black_hole.getsockname()[1]}"
        child = subprocess.Popen(
            [sys.executable, "-c", HANGING_CHILD, url, str(spool)],
            env=child_env,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                lines = sum(len(p.read_bytes().splitlines()) for p in spool.glob("*.batch"))
                if lines == 20:
                    break
                time.sleep(0.05)
            time.sleep(0.2)  # the request is on its way and unanswered
        finally:
            child.kill()
            child.wait(10)
    assert lines == 20
    client = CentralLogger(stub.url, "k", spool_dir=spool, **FAST)
    assert client.flush(5)
    client.close(2)
    assert sorted(int(log["ticket_id"]) for log in stub.logs()) == list(range(20))


def test_a_second_process_on_a_locked_spool_uses_memory(tmp_path: Path) -> None:
    first = CentralLogger(_dead_url(), "k", spool_dir=tmp_path, **FAST)
    second = CentralLogger(_dead_url(), "k", spool_dir=tmp_path, **FAST)
    assert first.spooling
    assert not second.spooling
    first.close(0.1)
    second.close(0.1)


def test_run_and_steps_shape(stub: Stub) -> None:
    client = CentralLogger(stub.url, "k", environment="staging", workflow_version="2.0", **FAST)
    with client.run(ticket_id="T-1", category="billing", metrics={"tokens": 3}) as run:
        with run.step("classify", input={"text": "hi"}) as step:
            time.sleep(0.02)
            step.output = "billing"
        run.step("lookup", output=[1, 2])
        run.step("recorded", duration_seconds=0.5, status="SKIPPED")
        run.resolution_status = "resolved"
    with pytest.raises(KeyError), client.run(ticket_id="T-2") as run2, run2.step("fetch"):
        raise KeyError("missing")
    assert client.flush(5)
    client.close(2)
    ok, failed = stub.logs()
    assert ok["id"] == run.id
    assert ok["status"] == "SUCCESS"
    assert ok["environment"] == "staging"
    assert ok["workflow_version"] == "2.0"
    assert ok["resolution_status"] == "resolved"
    assert ok["metrics"] == {"tokens": 3}
    assert ok["execution_time_seconds"] >= 0.02
    trace = ok["payload"]["trace"]
    assert [s["name"] for s in trace] == ["classify", "lookup", "recorded"]
    assert set(trace[0]) == {
        "name",
        "started_at",
        "duration_seconds",
        "status",
        "input",
        "output",
        "error",
    }
    assert trace[0]["duration_seconds"] >= 0.02
    assert trace[0]["output"] == "billing"
    assert trace[0]["input"] == {"text": "hi"}
    assert trace[2]["duration_seconds"] == 0.5
    assert trace[2]["status"] == "SKIPPED"
    assert datetime.fromisoformat(trace[0]["started_at"]).tzinfo is not None
    assert failed["status"] == "ERROR"
    assert failed["payload"]["error"] == {"type": "KeyError", "message": "'missing'"}
    assert failed["payload"]["trace"][0]["status"] == "ERROR"
    assert failed["payload"]["trace"][0]["error"]["type"] == "KeyError"


def test_values_json_cannot_carry_do_not_raise(stub: Stub) -> None:
    client = CentralLogger(stub.url, "k", **FAST)
    client.log(
        status="SUCCESS",
        metrics={"nan": math.nan, "when": datetime(2025, 1, 1, tzinfo=UTC)},
        payload={"obj": object(), "set": {1}},
    )
    assert client.flush(5)
    client.close(2)
    (log,) = stub.logs()
    assert log["metrics"]["nan"] == "nan"
    assert log["metrics"]["when"] == "2025-01-01T00:00:00+00:00"


def test_log_after_close_is_counted_not_raised(stub: Stub) -> None:
    client = CentralLogger(stub.url, "k", **FAST)
    client.close(1)
    client.log(status="SUCCESS")
    assert client.stats.dropped == 1


def test_forked_child_gets_its_own_sender(stub: Stub) -> None:
    client = CentralLogger(stub.url, "k", **FAST)
    client.log(status="SUCCESS", ticket_id="parent")
    pid = os.fork()
    if pid == 0:  # the child: must deliver its own log through a new thread
        ok = False
        try:
            client.log(status="SUCCESS", ticket_id="child")
            ok = client.flush(5) and client.stats.sent == 1
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.flush(5)
    client.close(2)
    assert sorted(log["ticket_id"] for log in stub.logs()) == ["child", "parent"]


def test_async_flavour(stub: Stub) -> None:
    async def workflow() -> dict[str, Any]:
        async with AsyncCentralLogger(stub.url, "k", **FAST) as client:
            async with client.run(ticket_id="A-1") as run, run.step("think"):
                await asyncio.sleep(0.01)
            assert await client.flush(5)
            return {"sent": client.stats.sent, "id": run.id}

    result = asyncio.run(workflow())
    assert result["sent"] == 1
    assert stub.logs()[0]["id"] == result["id"]


def test_flush_is_true_only_when_everything_was_delivered(stub: Stub) -> None:
    """The docs' `assert client.flush(timeout=10)` fails when the key is wrong."""
    stub.script.append((401, {}, {"status": 401, "detail": "unknown API key", "errors": []}))
    client = CentralLogger(stub.url, "wrong", **FAST)
    client.log(status="SUCCESS", ticket_id="refused")
    assert not client.flush(5)
    client.log(status="SUCCESS", ticket_id="stored")  # the stub answers 200 from now on
    assert client.flush(5)
    stub.script.append((422, {}, {"detail": "bad", "errors": []}))
    client.log(status="SUCCESS", ticket_id="refused again")
    assert not client.close(5)  # close() answers as flush() does
    stats = client.stats
    assert (stats.sent, stats.rejected, stats.pending) == (1, 2, 0)

"""`central-logger ship`: backfill from JSONL through the shipper, against the real service."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from tests.support.shipper import API_KEY, Service


def _ship(
    service: Service, tmp_path: Path, *files: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "central_logger",
            "ship",
            *files,
            "--url",
            service.url,
            "--api-key",
            API_KEY,
            "--rejected",
            str(tmp_path / "rejected.jsonl"),
            "--no-progress",
        ],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )


def test_ship_reports_and_replays_idempotently(
    service: Service, environment: str, tmp_path: Path
) -> None:
    good = [
        {
            "id": str(uuid.uuid4()),
            "environment": environment,
            "executed_at": "2026-11-01T10:00:00Z",
            "status": "success",
            "ticket_id": f"T-{i}",
        }
        for i in range(250)
    ]
    lines = [orjson.dumps(log) for log in good]
    lines.insert(10, b"{not json")
    lines.insert(
        20, orjson.dumps({"environment": environment, "status": "SUCCESS"})
    )  # no executed_at
    backfill = tmp_path / "backfill.jsonl"
    backfill.write_bytes(b"\n".join(lines) + b"\n")

    first = _ship(service, tmp_path, str(backfill))
    assert first.returncode == 1, first.stderr
    assert "252 lines: 250 accepted, 0 duplicate, 2 rejected, 0 dropped" in first.stdout
    rejected = [
        orjson.loads(line) for line in (tmp_path / "rejected.jsonl").read_bytes().splitlines()
    ]
    assert {r["line"] for r in rejected} == {f"{backfill}:11", f"{backfill}:21"}
    assert any(e["field"] == "executed_at" for r in rejected for e in r["errors"])
    assert len(service.logs(environment)) == 250

    only_good = tmp_path / "good.jsonl"
    only_good.write_bytes(b"\n".join(orjson.dumps(log) for log in good) + b"\n")
    again = _ship(service, tmp_path, str(only_good))
    assert again.returncode == 0, again.stderr
    assert "250 lines: 0 accepted, 250 duplicate, 0 rejected" in again.stdout
    assert len(service.logs(environment)) == 250


def test_ship_reads_stdin(service: Service, environment: str, tmp_path: Path) -> None:
    log = {"environment": environment, "executed_at": "2026-11-01T10:00:00Z", "status": "FAILED"}
    result = _ship(service, tmp_path, "-", stdin=orjson.dumps(log) + b"\n")
    assert result.returncode == 0, result.stderr
    assert [item["status"] for item in service.logs(environment)] == ["FAILED"]


def test_ship_gives_up_on_an_unreachable_service_and_says_what_is_left(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    logs = [
        {"id": str(uuid.uuid4()), "executed_at": "2026-11-01T10:00:00Z", "status": "SUCCESS"}
        for _ in range(20)
    ]
    backfill = tmp_path / "backfill.jsonl"
    backfill.write_bytes(b"\n".join(orjson.dumps(log) for log in logs) + b"\n")
    spool = tmp_path / "spool"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "central_logger",
            "ship",
            str(backfill),
            "--url",
            dead,
            "--api-key",
            API_KEY,
            "--timeout",
            "2",
            "--spool",
            str(spool),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=60,  # it gives up by itself; this only bounds a regression
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"gave up: nothing reached {dead} for 2 s; 20 logs not delivered" in done.stderr
    assert f"left in the spool {spool}" in done.stderr
    assert "Traceback" not in done.stderr
    spooled = b"".join(f.read_bytes() for f in spool.glob("*.batch"))
    assert {log["id"] for log in logs} == {
        orjson.loads(line)["id"] for line in spooled.splitlines() if line.strip()
    }


def test_ship_reports_logs_older_than_the_retention_as_rejected(
    shipper_database_url: str, environment: str, tmp_path: Path
) -> None:
    """The service keeps 3 days here: an older line is refused with the reason (it
    would be deleted by the next retention run), the others are stored."""
    short = Service(shipper_database_url, tmp_path, extra_env={"RETENTION_DAYS": "3"})
    short.start()
    try:
        now = datetime.now(UTC)
        logs = [
            {
                "id": str(uuid.uuid4()),
                "environment": environment,
                "executed_at": (now - timedelta(days=age)).isoformat(),
                "status": "SUCCESS",
            }
            for age in (0, 1, 5)
        ]
        backfill = tmp_path / "recent.jsonl"
        backfill.write_bytes(b"\n".join(orjson.dumps(log) for log in logs) + b"\n")
        shipped = _ship(short, tmp_path, str(backfill))
        assert shipped.returncode == 1, shipped.stderr
        assert "3 lines: 2 accepted, 0 duplicate, 1 rejected" in shipped.stdout
        (rejected,) = [
            orjson.loads(line) for line in (tmp_path / "rejected.jsonl").read_bytes().splitlines()
        ]
        assert rejected["line"] == f"{backfill}:3"
        (error,) = rejected["errors"]
        assert error["field"] == "executed_at"
        assert "retention of 3 days" in error["reason"]
        assert len(short.logs(environment)) == 2
    finally:
        short.stop()

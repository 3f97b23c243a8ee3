"""Acceptance tests of the shipper against the real service (no mocks).

Each test tags its logs with a unique ``environment`` and reads them back through
``GET /api/v1/logs``: "exactly once" means every id logged is stored once and
nothing else is.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from central_logger_client import AsyncCentralLogger, CentralLogger, RejectedError

Service = Any  # the fixtures' class lives in conftest.py
API_KEY = "shipper_key"  # the key conftest.py gives the service

FAST: dict[str, Any] = {"flush_interval": 0.2, "backoff_base": 0.1, "max_backoff": 1.0}


def assert_exactly_once(service: Service, environment: str, ids: list[str]) -> None:
    stored = [item["id"] for item in service.logs(environment)]
    counts = Counter(stored)
    duplicated = [i for i, n in counts.items() if n > 1]
    missing = set(ids) - set(counts)
    unexpected = set(counts) - set(ids)
    assert not duplicated, f"{len(duplicated)} logs stored twice"
    assert not missing, f"{len(missing)} logs lost"
    assert not unexpected, f"{len(unexpected)} unexpected logs"
    assert len(stored) == len(ids)


def _dead_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _settled(stats: Any) -> int:
    return int(stats.sent + stats.rejected + stats.dropped)


def test_burst_arrives_exactly_once(service: Service, environment: str) -> None:
    client = CentralLogger(service.url, API_KEY, environment=environment, **FAST)
    ids: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        mine = [
            client.log(status="SUCCESS", ticket_id=f"T-{n}-{i}", metrics={"i": i})
            for i in range(750)
        ]
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert client.flush(30)
    client.close(5)
    stats = client.stats
    assert (stats.sent, stats.rejected, stats.dropped, stats.pending) == (3000, 0, 0, 0)
    assert_exactly_once(service, environment, ids)


def test_service_stopped_mid_burst_then_restarted(
    own_service: Service, environment: str, tmp_path: Path
) -> None:
    """The service is killed mid-burst and started again 2 s later: nothing lost or doubled.

    Two clients live through the same outage: one keeps unsent logs in memory,
    the other in a spool directory.
    """
    spool = tmp_path / "spool"
    clients = {
        mode: CentralLogger(
            own_service.url,
            API_KEY,
            environment=f"{environment}-{mode}",
            batch_size=100,
            spool_dir=spool if mode == "spool" else None,
            **FAST,
        )
        for mode in ("memory", "spool")
    }
    ids: dict[str, list[str]] = {mode: [] for mode in clients}

    def produce(mode: str) -> None:
        for i in range(2000):
            ids[mode].append(clients[mode].log(status="SUCCESS", ticket_id=f"T-{i}"))
            if i % 20 == 0:
                time.sleep(0.02)

    producers = [threading.Thread(target=produce, args=(mode,)) for mode in clients]
    for producer in producers:
        producer.start()
    time.sleep(0.7)
    own_service.stop(signal.SIGKILL)  # mid-burst, answers in flight lost
    time.sleep(2.0)
    own_service.start()
    for producer in producers:
        producer.join(30)
        assert not producer.is_alive()
    for mode, client in clients.items():
        assert client.flush(45), mode
        client.close(5)
    for mode, client in clients.items():
        stats = client.stats
        stored = own_service.logs(f"{environment}-{mode}")
        print(
            f"\noutage ({mode}): logged={len(ids[mode])} stored={len(stored)} "
            f"sent={stats.sent} retried={stats.retried} duplicates={stats.duplicates} "
            f"spooled={stats.spooled} dropped={stats.dropped} rejected={stats.rejected} "
            f"lost={len(set(ids[mode]) - {s['id'] for s in stored})}"
        )
        assert stats.retried > 0  # the outage was felt
        assert (stats.sent, stats.rejected, stats.dropped) == (2000, 0, 0)
        assert_exactly_once(own_service, f"{environment}-{mode}", ids[mode])
    assert clients["spool"].stats.spooled > 0
    assert list(spool.glob("*.batch")) == []


def test_database_down_503_is_retried_honouring_retry_after(
    shipper_database_url: str,
    service: Service,
    environment: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service's database refuses connections: 503 + Retry-After, then recovery."""
    psycopg = pytest.importorskip("psycopg")
    app_name = service.extra_env["SERVICE_NAME"]  # its connections' application_name
    caplog.set_level(logging.DEBUG, logger="central_logger_client")
    info = psycopg.conninfo.conninfo_to_dict(shipper_database_url.replace("+psycopg", ""))
    database = info["dbname"]
    info["dbname"] = "postgres"  # a database cannot close itself to connections
    admin = psycopg.connect(psycopg.conninfo.make_conninfo(**info), autocommit=True)
    blocked = False
    try:
        client = CentralLogger(service.url, API_KEY, environment=environment, **FAST)
        ids = [client.log(status="SUCCESS", ticket_id=f"B-{i}") for i in range(50)]
        assert client.flush(10)
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        blocked = True
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (app_name,),
        )
        ids += [client.log(status="SUCCESS", ticket_id=f"D-{i}") for i in range(100)]
        deadline = time.monotonic() + 15
        while client.stats.retried == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        blocked = False
        assert client.flush(30)
        client.close(5)
    finally:
        if blocked:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        admin.close()
    stats = client.stats
    print(
        f"\ndatabase down (503): logged={len(ids)} sent={stats.sent} retried={stats.retried} "
        f"duplicates={stats.duplicates} dropped={stats.dropped} rejected={stats.rejected}"
    )
    assert stats.retried > 0
    assert (stats.sent, stats.rejected, stats.dropped) == (150, 0, 0)
    waits = [
        float(m.group(1))
        for r in caplog.records
        if "HTTP 503" in r.getMessage() and (m := re.search(r"in ([0-9.]+)s$", r.getMessage()))
    ]
    assert waits
    assert min(waits) >= 1.0  # Retry-After: 1
    assert_exactly_once(service, environment, ids)


CHILD = textwrap.dedent(
    """
    import sys, time
    from central_logger_client import CentralLogger

    url, key, environment, spool, count = sys.argv[1:6]
    client = CentralLogger(url, key, environment=environment, spool_dir=spool,
                           flush_interval=0.1, backoff_base=0.1, max_backoff=0.5)
    for i in range(int(count)):
        print(client.log(status="SUCCESS", ticket_id=f"K-{i}"), flush=True)
    deadline = time.monotonic() + 20
    while client.stats.spooled < int(count) and time.monotonic() < deadline:
        time.sleep(0.05)
    print("SPOOLED", client.stats.spooled, flush=True)
    time.sleep(60)  # killed here
    """
)


def test_killed_process_spool_is_sent_by_the_next_process(
    service: Service, environment: str, tmp_path: Path, child_env: dict[str, str]
) -> None:
    """A process that could not reach the service is SIGKILLed; the next one sends its spool."""
    spool = tmp_path / "spool"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, _dead_url(), API_KEY, environment, str(spool), "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=child_env,
    )
    ids: list[str] = []
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line or line.startswith("SPOOLED"):
                break
            ids.append(line.strip())
        assert line.strip() == "SPOOLED 300"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert len(ids) == 300
    assert list(spool.glob("*.batch"))
    assert service.logs(environment) == []

    client = CentralLogger(service.url, API_KEY, environment=environment, spool_dir=spool, **FAST)
    assert client.flush(20)
    client.close(5)
    stats = client.stats
    assert (stats.sent, stats.retried, stats.dropped, stats.rejected) == (300, 300, 0, 0)
    assert list(spool.glob("*.batch")) == []
    assert_exactly_once(service, environment, ids)


def test_exit_without_close_flushes_at_exit(
    service: Service, environment: str, child_env: dict[str, str]
) -> None:
    code = textwrap.dedent(
        """
        import sys
        from central_logger_client import CentralLogger

        def work() -> None:  # the client is dropped without close(): exit still flushes
            client = CentralLogger(sys.argv[1], sys.argv[2], environment=sys.argv[3],
                                   flush_interval=30)
            for i in range(50):
                print(client.log(status="SUCCESS"))

        work()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, service.url, API_KEY, environment],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env=child_env,
    )
    assert_exactly_once(service, environment, done.stdout.split())


def test_4xx_batch_is_reported_not_retried(service: Service, environment: str) -> None:
    seen: list[RejectedError] = []
    client = CentralLogger(
        service.url, "not-a-key", environment=environment, on_rejected=seen.append, **FAST
    )
    for i in range(10):
        client.log(status="SUCCESS", ticket_id=f"R-{i}")
    assert not client.flush(10)  # settled, but nothing was stored
    assert client.stats.pending == 0
    time.sleep(0.5)  # a retry, if there were one, would have happened
    client.close(5)
    stats = client.stats
    assert (stats.rejected, stats.retried, stats.sent) == (10, 0, 0)
    assert len(seen) == 1
    assert seen[0].status_code == 401
    assert len(seen[0].logs) == 10
    assert service.logs(environment) == []


def test_rejected_items_in_an_accepted_batch_are_reported(
    service: Service, environment: str
) -> None:
    seen: list[RejectedError] = []
    client = CentralLogger(
        service.url, API_KEY, environment=environment, on_rejected=seen.append, **FAST
    )
    good = [client.log(status="SUCCESS", ticket_id=f"G-{i}") for i in range(5)]
    bad = client.log(status="X" * 65, ticket_id="too-long-status")
    late = client.log(status="SUCCESS", executed_at=_far_future())
    assert not client.flush(10)  # two were refused
    assert client.stats.pending == 0
    client.close(5)
    stats = client.stats
    assert (stats.sent, stats.rejected, stats.retried) == (5, 2, 0)
    rejected = [log for error in seen for log in error.logs]
    assert sorted(log["id"] for log in rejected) == sorted([bad, late])
    fields = {e["field"] for error in seen for errors in error.errors for e in errors}
    assert any("status" in f for f in fields)
    assert any("executed_at" in f for f in fields)
    assert_exactly_once(service, environment, good)


def test_strings_json_cannot_carry_do_not_spoil_the_batch(
    service: Service, environment: str
) -> None:
    """A lone surrogate would make the whole body invalid JSON for the service."""
    client = CentralLogger(service.url, API_KEY, environment=environment, **FAST)
    ids = [client.log(status="SUCCESS", ticket_id=f"S-{i}") for i in range(5)]
    ids.append(client.log(status="SUCCESS", payload={"path": "caf\udce9", "nel": "\u2028"}))
    assert client.flush(10)
    client.close(5)
    assert (client.stats.sent, client.stats.rejected) == (6, 0)
    assert_exactly_once(service, environment, ids)
    assert service.log(ids[-1])["payload"] == {"path": "caf?", "nel": "\u2028"}


def _far_future() -> Any:
    from datetime import datetime, timedelta

    return datetime.now(UTC) + timedelta(days=2)


def test_run_and_trace_are_stored(service: Service, environment: str) -> None:
    client = CentralLogger(service.url, API_KEY, environment=environment, **FAST)
    with client.run(ticket_id="TICKET-1", category="billing_issue") as run:
        with run.step("classify", input={"text": "refund"}) as step:
            step.output = {"category": "billing_issue"}
        run.step("reply", output="done")
        run.metrics["confidence"] = 0.9
    failed = client.run(ticket_id="TICKET-2")
    with pytest.raises(ValueError, match="boom"), failed:
        raise ValueError("boom")
    assert client.flush(10)
    client.close(5)
    stored = service.log(run.id)
    assert stored["status"] == "SUCCESS"
    assert stored["category"] == "billing_issue"
    assert stored["metrics"] == {"confidence": 0.9}
    assert stored["execution_time_seconds"] >= 0
    trace = stored["payload"]["trace"]
    assert [s["name"] for s in trace] == ["classify", "reply"]
    assert trace[0]["output"] == {"category": "billing_issue"}
    assert all(s["status"] == "SUCCESS" for s in trace)
    stored_failed = service.log(failed.id)
    assert stored_failed["status"] == "ERROR"
    assert stored_failed["payload"]["error"] == {"type": "ValueError", "message": "boom"}


def test_async_flavour_against_the_service(service: Service, environment: str) -> None:
    async def workflow() -> list[str]:
        async with AsyncCentralLogger(
            service.url, API_KEY, environment=environment, **FAST
        ) as client:

            async def one(i: int) -> str:
                async with client.run(ticket_id=f"A-{i}") as run, run.step("think"):
                    await asyncio.sleep(0.01)
                return run.id

            ids = await asyncio.gather(*(one(i) for i in range(20)))
            assert await client.flush(10)
            return list(ids)

    ids = asyncio.run(workflow())
    assert_exactly_once(service, environment, ids)

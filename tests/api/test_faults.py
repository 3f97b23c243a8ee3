"""The fault proof of bench/faults.py, bounded for the suite: the real service as a
subprocess (`central-logger serve`), several concurrent clients, PostgreSQL restarted
under them, then SIGTERM under them. Also greps the service's own output for the keys."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from bench.faults import Database, Service, restart_scenario, sigterm_scenario


@pytest.fixture(scope="module")
def fault_db() -> Iterator[tuple[Database, Path]]:
    workdir = Path(tempfile.mkdtemp(prefix="central-logger-faults-"))
    workdir.chmod(0o755)
    db = Database(workdir)
    yield db, workdir
    db.stop()
    shutil.rmtree(workdir, ignore_errors=True)


async def test_postgresql_restart_under_load(fault_db: tuple[Database, Path]) -> None:
    db, workdir = fault_db
    figures = await restart_scenario(db, workdir, clients=4, seconds=7.5)
    print("\nrestart:", figures)
    assert figures["lost"] == 0
    assert figures["rows_found"] == figures["logs_acknowledged"] > 0
    assert figures["503"] > 0  # the outage was seen
    assert figures["503_without_retry_after"] == 0
    assert figures["other_status"] == {}
    assert figures["refused"] == figures["no_answer"] == 0
    assert figures["recovered_after_seconds"] is not None
    ok, total = map(int, figures["2xx_after_recovery"].split("/"))
    assert ok == total > 0
    assert figures["keys_in_service_log"] == 0


async def test_sigterm_under_load(fault_db: tuple[Database, Path]) -> None:
    db, workdir = fault_db
    figures = await sigterm_scenario(db, workdir, clients=4, seconds=4)
    print("\nsigterm:", figures)
    assert figures["exit_code"] == 0
    assert figures["lost"] == 0
    assert figures["in_flight_at_sigterm"] >= 1
    # Requests in flight finished with a 2xx, except one sent on a kept-alive connection
    # as the server closed it idle: never received, nothing stored, safe to retry.
    assert figures["unanswered_but_stored"] == 0
    assert figures["in_flight_finished_2xx"] >= 1
    assert (
        figures["in_flight_finished_2xx"] + figures["unanswered_not_received"]
        >= figures["in_flight_at_sigterm"]
    )
    assert figures["other_status"] == {}
    assert figures["503"] == 0
    # Whatever started after SIGTERM was served whole, or never reached the service.
    assert (
        figures["after_sigterm_2xx"] + figures["after_sigterm_refused_or_unanswered"]
        == figures["started_after_sigterm"]
    )
    assert figures["keys_in_service_log"] == 0


@pytest.mark.parametrize(
    ("forwarded_allow_ips", "recorded"),
    [(None, "127.0.0.1"), ("127.0.0.1", "203.0.113.7")],
    ids=["proxy-headers-ignored", "trusted-proxy"],
)
def test_proxy_headers_only_from_configured_proxies(
    fault_db: tuple[Database, Path], forwarded_allow_ips: str | None, recorded: str
) -> None:
    """`central-logger serve` believes X-Forwarded-For only from FORWARDED_ALLOW_IPS; the
    address it settles on is the one the audit trail records for a failed key."""
    db, workdir = fault_db
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute("DELETE FROM audit_events")
    extra = {"FORWARDED_ALLOW_IPS": forwarded_allow_ips} if forwarded_allow_ips else {}
    service = Service(db.url, {}, workdir, extra_env=extra)
    try:
        service.wait_ready()
        response = httpx.get(
            f"{service.base}/api/v1/logs",
            headers={"X-API-Key": "cl_0badc0de_wrong", "X-Forwarded-For": "203.0.113.7"},
        )
        assert response.status_code == 401
    finally:
        service.terminate()
        assert service.wait_exit() == 0  # the audit is flushed on the way out
    with psycopg.connect(db.url) as conn:
        rows = conn.execute(
            "SELECT remote_addr, actor FROM audit_events WHERE kind = 'auth_failed'"
        ).fetchall()
    assert rows == [(recorded, "cl_0badc0de")]

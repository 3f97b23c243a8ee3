"""Fixtures of the shipper tests.

- ``stub``: a scripted HTTP stub, for unit tests of the retry logic only;
- ``service``: the real service (uvicorn in a subprocess) on a fresh database,
  for the acceptance tests, on a database of their own (see
  ``shipper_database_url``).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.requirements import missing
from tests.support.shipper import API_KEY, CLIENT_ID, Service

# Re-exported for one merge: new tests import them from tests.support.shipper.
__all__ = ["API_KEY", "CLIENT_ID", "Service"]

REPO = Path(__file__).resolve().parents[2]
CLIENT_SRC = REPO / "clients" / "python" / "src"

try:
    import central_logger_client  # noqa: F401
except ImportError:  # not installed (make test-client installs it): use the source tree
    sys.path.insert(0, str(CLIENT_SRC))


class Stub:
    """Answers POSTs from a script of (status, headers, body-or-None) replies.

    A reply body of None means "accept every item as the real service would".
    When the script is empty every request is accepted.
    """

    def __init__(self) -> None:
        self.script: deque[tuple[int, dict[str, str], Any]] = deque()
        self.requests: list[tuple[float, dict[str, str], list[dict[str, Any]]]] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                logs = json.loads(raw)["logs"]
                with stub.lock:
                    stub.requests.append((time.monotonic(), dict(self.headers), logs))
                    status, headers, body = (
                        stub.script.popleft() if stub.script else (200, {}, None)
                    )
                if body is None and status == 200:
                    body = {
                        "accepted": len(logs),
                        "duplicates": 0,
                        "rejected": 0,
                        "items": [
                            {"index": i, "id": log.get("id"), "outcome": "accepted"}
                            for i, log in enumerate(logs)
                        ],
                    }
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def logs(self) -> list[dict[str, Any]]:
        with self.lock:
            return [log for _, _, logs in self.requests for log in logs]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[Stub]:
    """A scripted HTTP stub (unit tests of retry logic only)."""
    server = Stub()
    yield server
    server.close()


LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432"


def _with_dbname(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextlib.contextmanager
def _sibling_database(server_url: str) -> Iterator[str | None]:
    """A new empty database beside ``server_url``'s, dropped at the end; None if not allowed.

    The service migrates it when it starts.
    """
    psycopg = pytest.importorskip("psycopg")
    name = f"shipper_test_{uuid.uuid4().hex[:10]}"
    admin = _with_dbname(_libpq(server_url), "postgres")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        yield None
        return
    try:
        yield _with_dbname(server_url, name)
    finally:
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn,
        ):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="package")
def shipper_database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of the shipper tests' own, on the suite's PostgreSQL server.

    The server is the one of the main suite's ``database_url`` (else
    ``SHIPPER_TEST_DATABASE_URL``, else the machine's PostgreSQL). A database of
    their own keeps the thousands of logs these tests write out of the tests that
    come after them (the dashboard's counts all clients); where databases cannot
    be created, ``database_url`` itself is used.
    """
    try:
        base: str | None = str(request.getfixturevalue("database_url"))
    except pytest.FixtureLookupError:
        base = os.environ.get("SHIPPER_TEST_DATABASE_URL")
    with _sibling_database(base or f"{LOCAL_POSTGRES}/postgres") as own:
        if own is not None:
            yield own
        elif base is not None:
            yield base
        else:
            missing(
                f"no PostgreSQL for the shipper tests at {LOCAL_POSTGRES}: set"
                " TEST_DATABASE_URL or SHIPPER_TEST_DATABASE_URL"
            )


@pytest.fixture(scope="session")
def service_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service")


@pytest.fixture(scope="package")
def service(shipper_database_url: str, service_workdir: Path) -> Iterator[Service]:
    """The real service, shared by the acceptance tests that do not stop it.

    Its database connections are named (SERVICE_NAME is their application_name)
    so a test can cut them, and it asks for a 1 s Retry-After when its database
    is down.
    """
    svc = Service(
        shipper_database_url,
        service_workdir,
        extra_env={
            "SERVICE_NAME": f"shipper-test-{uuid.uuid4().hex[:8]}",
            "RETRY_AFTER_SECONDS": "1",
        },
    )
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture
def own_service(shipper_database_url: str, service_workdir: Path) -> Iterator[Service]:
    """A service of the test's own, which it may stop and start again."""
    svc = Service(shipper_database_url, service_workdir)
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture
def environment() -> str:
    """A unique environment name: the test's logs are those with it."""
    return f"shipper-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def child_env() -> dict[str, str]:
    """Environment for a child Python process that imports the shipper."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(CLIENT_SRC), env.get("PYTHONPATH", "")) if p
    )
    return env

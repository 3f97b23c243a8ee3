"""DATABASE_READ_URL against a real streaming replica that this module starts itself
(`pg_basebackup -R` from its own primary, on another port): the list, detail and
metrics reads go to the replica while it is fresh, tenants stay apart there, a log just
sent always opens, and while the replica lags past READ_REPLICA_MAX_LAG_SECONDS or is
down, reads go to the primary: never an error because of the replica."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from central_logger.db.migrate import upgrade_to_head
from central_logger.main import create_app
from central_logger.settings import Settings
from tests.api.replication import Cluster
from tests.support.factories import with_id
from tests.support.tenants import TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth

SOURCE = "x-read-source"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    replication = Cluster()
    try:
        replication.start()
        upgrade_to_head(replication.primary_url)
        replication.start_replica()
        yield replication
    finally:
        replication.stop()


@asynccontextmanager
async def _service(cluster: Cluster, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        _env_file=None,
        database_url=cluster.primary_url,
        database_read_url=cluster.replica_url,
        read_replica_probe_seconds=0.05,
        api_keys={TENANT_A_KEY: TENANT_A, TENANT_B_KEY: TENANT_B},
        rollup_fold_interval_seconds=0.2,
        **overrides,
    )
    app = create_app(settings, migrate=False)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def _until(check: Any, what: str) -> None:
    for _ in range(300):  # bounded: 300 x 0.05 s
        if await check():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"never happened: {what}")


async def _replica_status(http: httpx.AsyncClient) -> str:
    return str((await http.get("/health")).json()["read_replica"])


async def _ids(http: httpx.AsyncClient, key: str) -> tuple[set[str], str]:
    response = await http.get("/api/v1/logs?page_size=100", headers=auth(key))
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}, response.headers[SOURCE]


async def test_fresh_replica_serves_the_reads_and_keeps_tenants_apart(cluster: Cluster) -> None:
    async with _service(cluster, read_replica_max_lag_seconds=3600) as http:
        a_logs = [with_id(), with_id()]
        b_log = with_id()
        for log in a_logs:
            assert (
                await http.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY))
            ).status_code == 201
        assert (
            await http.post("/api/v1/logs", json=b_log, headers=auth(TENANT_B_KEY))
        ).status_code == 201

        async def replicated() -> bool:
            ids, source = await _ids(http, TENANT_A_KEY)
            return source == "replica" and {log["id"] for log in a_logs} <= ids

        await _until(replicated, "tenant A's logs listed from the replica")
        ids_b, source = await _ids(http, TENANT_B_KEY)
        assert source == "replica"
        assert ids_b == {b_log["id"]}  # row-level security holds on the replica

        detail = await http.get(f"/api/v1/logs/{a_logs[0]['id']}", headers=auth(TENANT_A_KEY))
        assert detail.status_code == 200
        assert detail.headers[SOURCE] == "replica"
        # Another tenant's id: 404 on the replica, and on the primary it falls back to.
        hidden = await http.get(f"/api/v1/logs/{a_logs[0]['id']}", headers=auth(TENANT_B_KEY))
        assert hidden.status_code == 404

        for path in ("/api/v1/metrics/overview?days=1", "/api/v1/metrics/categories?days=1"):
            metrics = await http.get(path, headers=auth(TENANT_B_KEY))
            assert metrics.status_code == 200
            assert metrics.headers[SOURCE] == "replica"
        overview = (
            await http.get("/api/v1/metrics/overview?days=1", headers=auth(TENANT_B_KEY))
        ).json()
        assert overview["total_runs"] == 1

        # Writes and other reads never carry the header: they are on the primary.
        me = await http.get("/api/v1/me", headers=auth(TENANT_A_KEY))
        assert SOURCE not in me.headers


async def test_while_replay_is_paused(cluster: Cluster) -> None:
    """Lag within the bound: the list is stale but a log just sent opens (from the
    primary). Past the bound: every read is on the primary."""
    cluster.replica_sql("SELECT pg_wal_replay_pause()")
    try:
        async with _service(cluster, read_replica_max_lag_seconds=3600) as tolerant:
            log = with_id()
            sent = await tolerant.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY))
            assert sent.status_code == 201
            await _until(lambda: _is(tolerant, "ok"), "the tolerant service uses the replica")
            ids, source = await _ids(tolerant, TENANT_A_KEY)
            assert source == "replica"
            assert log["id"] not in ids  # stale, within READ_REPLICA_MAX_LAG_SECONDS
            detail = await tolerant.get(f"/api/v1/logs/{log['id']}", headers=auth(TENANT_A_KEY))
            assert detail.status_code == 200  # read your writes: from the primary
            assert detail.headers[SOURCE] == "primary"

        async with _service(cluster, read_replica_max_lag_seconds=0.5) as strict:
            await _until(lambda: _is(strict, "lagging"), "the strict service sees the lag")
            ids, source = await _ids(strict, TENANT_A_KEY)
            assert source == "primary"
            assert log["id"] in ids
            cluster.replica_sql("SELECT pg_wal_replay_resume()")
            await _until(lambda: _is(strict, "ok"), "the replica caught up")
            ids, source = await _ids(strict, TENANT_A_KEY)
            assert source == "replica"
            assert log["id"] in ids
    finally:
        cluster.replica_sql("SELECT pg_wal_replay_resume()")


async def _is(http: httpx.AsyncClient, status: str) -> bool:
    return await _replica_status(http) == status


async def test_a_stopped_replica_leaves_the_reads_to_the_primary(cluster: Cluster) -> None:
    async with _service(cluster, read_replica_max_lag_seconds=3600) as http:
        await _until(lambda: _is(http, "ok"), "the replica in use")
        cluster.stop_replica()
        try:
            # At once, before any probe noticed: the failed connection falls back.
            ids, source = await _ids(http, TENANT_A_KEY)
            assert source == "primary"
            assert ids
            health = await http.get("/health")
            assert health.status_code == 200
            assert health.json()["read_replica"] == "unavailable"
            for path in ("/api/v1/metrics/overview?days=1", "/api/v1/metrics/categories?days=1"):
                response = await http.get(path, headers=auth(TENANT_A_KEY))
                assert response.status_code == 200
                assert response.headers[SOURCE] == "primary"
        finally:
            cluster.resume_replica()
        await _until(lambda: _is(http, "ok"), "the replica taken back")
        assert (await _ids(http, TENANT_A_KEY))[1] == "replica"

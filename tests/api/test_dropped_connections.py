"""A pooled connection that PostgreSQL dropped (restart, failover, an idle timeout) is
met by the next request that takes it: that request gets a 503 with Retry-After, never
a 500, and the connection is thrown away, so the request after it succeeds. The hot
reads run on the driver's own connection (`db/driver.py`) and must behave like the
rest."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from tests.support.factories import a_log
from tests.support.tenants import TENANT_A_KEY, auth


def _drop_service_connections(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'central-logger'"
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(
    "path", ["/api/v1/logs", "/api/v1/logs?status=failed", "/api/v1/metrics/overview?days=7"]
)
async def test_a_dropped_connection_costs_one_503_not_a_500(
    client: httpx.AsyncClient, empty_database: str, path: str
) -> None:
    shipped = await client.post("/api/v1/logs", json=a_log(), headers=auth(TENANT_A_KEY))
    assert shipped.status_code == 201
    assert (await client.get(path, headers=auth(TENANT_A_KEY))).status_code == 200
    assert _drop_service_connections(empty_database) >= 1

    statuses = []
    for _ in range(3):
        response = await client.get(path, headers=auth(TENANT_A_KEY))
        statuses.append(response.status_code)
        if response.status_code == 503:
            assert response.headers["Retry-After"]
            assert response.headers["content-type"] == "application/problem+json"
    # The request that takes the dead connection answers 503; the pool is then renewed.
    assert statuses == [503, 200, 200]

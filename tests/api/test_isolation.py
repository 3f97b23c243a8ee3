"""Tenant isolation on every read path, and what admin keys may do."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.api import ship
from tests.support.factories import a_log
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth


@pytest.fixture
async def two_tenants(client: httpx.AsyncClient) -> dict[str, list[str]]:
    # The same ticket, category, environment and status in both tenants: only the key differs.
    # Tenant A's first log is FAILED, like both of B's: a status filter finds rows in each.
    recent = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    shared = {"ticket_id": "SHARED-1", "category": "shared_cat", "executed_at": recent}
    a_statuses = ["FAILED", "SUCCESS", "SUCCESS"]
    a_ids = await ship(client, [a_log(**shared, status=s) for s in a_statuses], TENANT_A_KEY)
    b_ids = await ship(client, [a_log(**shared, status="FAILED") for _ in range(2)], TENANT_B_KEY)
    return {TENANT_A: a_ids, TENANT_B: b_ids}


async def get(client: httpx.AsyncClient, url: str, key: str, **params: Any) -> httpx.Response:
    return await client.get(url, params=params, headers=auth(key))


async def test_list_shows_only_own_rows(
    client: httpx.AsyncClient, two_tenants: dict[str, list[str]]
) -> None:
    for key, tenant in ((TENANT_A_KEY, TENANT_A), (TENANT_B_KEY, TENANT_B)):
        page = (await get(client, "/api/v1/logs", key, page_size=100)).json()
        assert sorted(i["id"] for i in page["items"]) == sorted(two_tenants[tenant])
        assert {i["client_id"] for i in page["items"]} == {tenant}
        assert page["total"] == len(two_tenants[tenant])


@pytest.mark.parametrize(
    "params",
    [
        {"ticket_id": "SHARED-1"},
        {"category": "shared_cat"},
        {"status": "FAILED"},
        {"environment": "production"},
    ],
)
async def test_filters_never_reach_another_tenant(
    client: httpx.AsyncClient, two_tenants: dict[str, list[str]], params: dict[str, str]
) -> None:
    """Each filter matches rows in both tenants; each key gets exactly its own, so an
    empty page (which would pass a subset check) fails."""
    for key, tenant in ((TENANT_A_KEY, TENANT_A), (TENANT_B_KEY, TENANT_B)):
        page = (await get(client, "/api/v1/logs", key, **params)).json()
        expected = two_tenants[tenant]
        if params == {"status": "FAILED"} and tenant == TENANT_A:
            expected = expected[:1]
        assert sorted(i["id"] for i in page["items"]) == sorted(expected), params
        assert page["total"] == len(expected)


async def test_cursor_from_another_tenant_shows_nothing_of_theirs(
    client: httpx.AsyncClient, two_tenants: dict[str, list[str]]
) -> None:
    b_cursor = (await get(client, "/api/v1/logs", TENANT_B_KEY, page_size=1)).json()["next_cursor"]
    page = (await get(client, "/api/v1/logs", TENANT_A_KEY, cursor=b_cursor)).json()
    assert set(i["id"] for i in page["items"]) <= set(two_tenants[TENANT_A])
    # The cursor only positions the walk: tenant A's rows older than it, none of B's.
    assert {i["client_id"] for i in page["items"]} <= {TENANT_A}


async def test_detail_of_another_tenant_is_404(
    client: httpx.AsyncClient, two_tenants: dict[str, list[str]]
) -> None:
    b_id = two_tenants[TENANT_B][0]
    response = await get(client, f"/api/v1/logs/{b_id}", TENANT_A_KEY)
    assert response.status_code == 404
    unknown = await get(client, f"/api/v1/logs/{uuid.uuid4()}", TENANT_A_KEY)
    assert unknown.status_code == 404
    # Indistinguishable from an id nobody used, apart from the id itself.
    assert response.json()["title"] == unknown.json()["title"]
    assert (await get(client, f"/api/v1/logs/{b_id}", TENANT_B_KEY)).status_code == 200


async def test_malformed_id_is_422(client: httpx.AsyncClient) -> None:
    response = await get(client, "/api/v1/logs/not-a-uuid", TENANT_A_KEY)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.log_id"


@pytest.mark.parametrize("path", ["/api/v1/metrics/overview", "/api/v1/metrics/categories"])
async def test_metrics_count_only_own_rows(
    client: httpx.AsyncClient, two_tenants: dict[str, list[str]], path: str
) -> None:
    a = (await get(client, path, TENANT_A_KEY, days=1)).json()
    b = (await get(client, path, TENANT_B_KEY, days=1)).json()
    assert (a["total_runs"], b["total_runs"]) == (3, 2)
    if path.endswith("overview"):
        assert a["failed_runs"] == 1
        assert b["failed_runs"] == 2


@pytest.mark.parametrize(
    "path", ["/api/v1/logs", "/api/v1/metrics/overview", "/api/v1/metrics/categories"]
)
async def test_tenant_naming_another_client_is_403(
    client: httpx.AsyncClient, two_tenants: dict[str, list[str]], path: str
) -> None:
    response = await get(client, path, TENANT_A_KEY, client_id=TENANT_B)
    assert response.status_code == 403
    own = await get(client, path, TENANT_A_KEY, client_id=TENANT_A)
    assert own.status_code == 200


async def test_detail_with_client_id_of_another_tenant_is_403(
    client: httpx.AsyncClient, two_tenants: dict[str, list[str]]
) -> None:
    b_id = two_tenants[TENANT_B][0]
    response = await get(client, f"/api/v1/logs/{b_id}", TENANT_A_KEY, client_id=TENANT_B)
    assert response.status_code == 403


async def test_admin_reads_every_tenant_and_narrows(
    client: httpx.AsyncClient, two_tenants: dict[str, list[str]]
) -> None:
    everything = (await get(client, "/api/v1/logs", ADMIN_KEY, page_size=100)).json()
    assert everything["total"] == 5
    assert {i["client_id"] for i in everything["items"]} == {TENANT_A, TENANT_B}
    only_b = (await get(client, "/api/v1/logs", ADMIN_KEY, client_id=TENANT_B)).json()
    assert sorted(i["id"] for i in only_b["items"]) == sorted(two_tenants[TENANT_B])

    b_id = two_tenants[TENANT_B][0]
    detail = (await get(client, f"/api/v1/logs/{b_id}", ADMIN_KEY)).json()
    assert detail["client_id"] == TENANT_B
    assert (
        await get(client, f"/api/v1/logs/{b_id}", ADMIN_KEY, client_id=TENANT_A)
    ).status_code == 404

    overview = (await get(client, "/api/v1/metrics/overview", ADMIN_KEY, days=1)).json()
    assert overview["total_runs"] == 5
    narrowed = (
        await get(client, "/api/v1/metrics/overview", ADMIN_KEY, days=1, client_id=TENANT_A)
    ).json()
    assert narrowed["total_runs"] == 3
    categories = (
        await get(client, "/api/v1/metrics/categories", ADMIN_KEY, days=1, client_id=TENANT_B)
    ).json()
    assert categories["total_runs"] == 2
    every_category = (await get(client, "/api/v1/metrics/categories", ADMIN_KEY, days=1)).json()
    assert every_category["total_runs"] == 5


async def test_admin_lists_clients_and_tenants_cannot(
    client: httpx.AsyncClient, two_tenants: dict[str, list[str]]
) -> None:
    await ship(client, [a_log()], ADMIN_KEY)  # the admin's own client id is not a tenant
    clients = (await get(client, "/api/v1/clients", ADMIN_KEY)).json()
    assert [c["client_id"] for c in clients["items"]] == ["admin", TENANT_A, TENANT_B]
    assert (await get(client, "/api/v1/clients", TENANT_A_KEY)).status_code == 403


async def test_admin_may_ingest_for_a_client(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"/api/v1/logs?client_id={TENANT_B}", json=a_log(), headers=auth(ADMIN_KEY)
    )
    assert response.status_code == 201
    detail = (await get(client, f"/api/v1/logs/{response.json()['id']}", TENANT_B_KEY)).json()
    assert detail["client_id"] == TENANT_B


async def test_me(client: httpx.AsyncClient) -> None:
    tenant = (await get(client, "/api/v1/me", TENANT_A_KEY)).json()
    assert tenant["client_id"] == TENANT_A
    assert tenant["is_admin"] is False
    assert sorted(tenant["scopes"]) == ["ingest", "read"]
    assert TENANT_A_KEY not in str(tenant)
    admin = (await get(client, "/api/v1/me", ADMIN_KEY)).json()
    assert admin["is_admin"] is True

"""GET /api/v1/logs: filters, page/page_size, cursor paging, bounded totals."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.api import ship
from tests.support.factories import a_log
from tests.support.tenants import TENANT_A_KEY, auth

__all__ = ["ship"]  # others imported it from here; new tests import tests.support.api

BASE = datetime(2026, 11, 1, tzinfo=UTC)


def at(minutes: int) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat()


async def list_logs(
    client: httpx.AsyncClient, key: str = TENANT_A_KEY, **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/v1/logs", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def varied(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    logs = [
        a_log(
            executed_at=at(i),
            environment=("production", "staging")[i % 2],
            status=("SUCCESS", "FAILED", "TIMEOUT")[i % 3],
            category=("billing", "refund", None)[i % 3],
            ticket_id=f"T-{i % 4}",
            workflow_version=("1.0", "2.0")[i % 2],
            resolution_status=("resolved", "escalated")[i % 2],
            execution_time_seconds=float(i),
        )
        for i in range(24)
    ]
    ids = await ship(client, logs)
    for log, log_id in zip(logs, ids, strict=True):
        log["id"] = log_id
    return logs


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({"environment": "staging"}, lambda log: log["environment"] == "staging"),
        ({"status": "failed"}, lambda log: log["status"] == "FAILED"),
        ({"category": "refund"}, lambda log: log["category"] == "refund"),
        # As the category metrics name logs without a category.
        ({"category": "uncategorized"}, lambda log: log["category"] is None),
        ({"ticket_id": "T-3"}, lambda log: log["ticket_id"] == "T-3"),
        ({"workflow_version": "2.0"}, lambda log: log["workflow_version"] == "2.0"),
        ({"resolution_status": "escalated"}, lambda log: log["resolution_status"] == "escalated"),
        ({"from": at(5), "to": at(10)}, lambda log: at(5) <= log["executed_at"] < at(10)),
        (
            {"min_execution_time": 3, "max_execution_time": 7},
            lambda log: 3 <= log["execution_time_seconds"] <= 7,
        ),
        (
            {"status": "SUCCESS", "environment": "production", "from": at(6)},
            lambda log: (
                log["status"] == "SUCCESS"
                and log["environment"] == "production"
                and log["executed_at"] >= at(6)
            ),
        ),
    ],
    ids=[
        "environment",
        "status-any-case",
        "category",
        "uncategorized",
        "ticket",
        "version",
        "resolution",
        "time-range",
        "duration-bounds",
        "combined",
    ],
)
async def test_filters(
    client: httpx.AsyncClient, varied: list[dict[str, Any]], params: dict[str, Any], predicate: Any
) -> None:
    expected = sorted(
        (log for log in varied if predicate(log)), key=lambda log: log["executed_at"], reverse=True
    )
    assert expected, "the filter must match something to be a test"
    page = await list_logs(client, page_size=100, **params)
    assert [item["id"] for item in page["items"]] == [log["id"] for log in expected]
    assert page["total"] == len(expected)
    assert page["total_exact"] is True


async def test_newest_first_then_oldest_first(
    client: httpx.AsyncClient, varied: list[dict[str, Any]]
) -> None:
    newest = await list_logs(client, page_size=3)
    assert [i["executed_at"] for i in newest["items"]] == [
        at(23).replace("+00:00", "Z"),
        at(22).replace("+00:00", "Z"),
        at(21).replace("+00:00", "Z"),
    ]
    oldest = await list_logs(client, page_size=3, order="asc")
    assert oldest["items"][0]["executed_at"] == at(0).replace("+00:00", "Z")
    assert all("payload" not in item for item in newest["items"])


async def test_page_and_page_size(client: httpx.AsyncClient, varied: list[dict[str, Any]]) -> None:
    pages = [await list_logs(client, page=n, page_size=10) for n in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [10, 10, 4]
    seen = [item["id"] for p in pages for item in p["items"]]
    assert len(set(seen)) == 24
    assert pages[0]["next_cursor"] is not None
    assert pages[2]["next_cursor"] is None
    assert all(p["total"] == 24 for p in pages)
    # A page past the end holds no rows to carry the count; it is counted on its own.
    beyond = await list_logs(client, page=4, page_size=10)
    assert (beyond["items"], beyond["total"], beyond["next_cursor"]) == ([], 24, None)
    nothing = await list_logs(client, ticket_id="no-such-ticket")
    assert (nothing["items"], nothing["total"], nothing["total_exact"]) == ([], 0, True)


async def test_cursor_walks_every_row_once_while_rows_arrive(
    client: httpx.AsyncClient, varied: list[dict[str, Any]]
) -> None:
    seen: list[str] = []
    page = await list_logs(client, page_size=5)
    while True:
        seen.extend(item["id"] for item in page["items"])
        # New logs land between pages, both newer than everything and inside the walked range.
        await ship(
            client, [a_log(executed_at=datetime.now(UTC).isoformat()), a_log(executed_at=at(30))]
        )
        if page["next_cursor"] is None:
            break
        page = await list_logs(client, page_size=5, cursor=page["next_cursor"])
    assert seen == [
        log["id"] for log in sorted(varied, key=lambda log: log["executed_at"], reverse=True)
    ]


async def test_cursor_ties_on_the_same_instant(client: httpx.AsyncClient) -> None:
    ids = await ship(client, [a_log(executed_at=at(0)) for _ in range(7)])
    walked: list[str] = []
    cursor = None
    for _ in range(10):
        page = await list_logs(client, page_size=2, **({"cursor": cursor} if cursor else {}))
        walked.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(walked) == sorted(ids)
    assert len(walked) == 7


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": 501}, "query.page_size"),
        ({"page_size": 0}, "query.page_size"),
        ({"page": 0}, "query.page"),
        ({"cursor": "garbage!"}, "query.cursor"),
        ({"from": "2026-01-01T00:00:00"}, "query.from"),
        ({"order": "sideways"}, "query.order"),
        ({"status": "A\u0000"}, "query.status"),
        ({"min_execution_time": "nan"}, "query.min_execution_time"),
        ({"bogus": "1"}, "query.bogus"),
    ],
    ids=[
        "page-size-big",
        "page-size-zero",
        "page-zero",
        "bad-cursor",
        "naive-from",
        "bad-order",
        "nul",
        "nan",
        "unknown",
    ],
)
async def test_bad_query_is_422(
    client: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    response = await client.get("/api/v1/logs", params=params, headers=auth(TENANT_A_KEY))
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_cursor_from_the_other_order_is_422(
    client: httpx.AsyncClient, varied: list[dict[str, Any]]
) -> None:
    cursor = (await list_logs(client, page_size=2))["next_cursor"]
    response = await client.get(
        "/api/v1/logs", params={"cursor": cursor, "order": "asc"}, headers=auth(TENANT_A_KEY)
    )
    assert response.status_code == 422


@pytest.mark.parametrize("settings_overrides", [{"count_limit": 10}])
async def test_total_is_bounded_and_says_so(
    client: httpx.AsyncClient, varied: list[dict[str, Any]]
) -> None:
    page = await list_logs(client, page_size=5)
    assert (page["total"], page["total_exact"]) == (10, False)
    narrow = await list_logs(client, page_size=5, ticket_id="T-1")
    assert (narrow["total"], narrow["total_exact"]) == (6, True)


async def test_concurrent_reads_and_writes(client: httpx.AsyncClient) -> None:
    async def write(n: int) -> None:
        await ship(client, [a_log(executed_at=at(n))])

    await asyncio.gather(*(write(n) for n in range(20)), *(list_logs(client) for _ in range(10)))
    assert (await list_logs(client))["total"] == 20


async def test_label_filters_match_look_alike_spellings(client: httpx.AsyncClient) -> None:
    await ship(
        client,
        [a_log(category="cafe\u0301", ticket_id="T\u200b-1", workflow_version="v\u00e9")],
        TENANT_A_KEY,
    )
    for params in (
        {"category": "caf\u00e9"},
        {"category": "cafe\u0301"},
        {"ticket_id": "T-1\ufeff"},
        {"workflow_version": "ve\u0301"},
    ):
        page = await list_logs(client, **params)
        assert page["total"] == 1, params
        (item,) = page["items"]
        assert (item["category"], item["ticket_id"], item["workflow_version"]) == (
            "caf\u00e9",
            "T-1",
            "v\u00e9",
        )
    only_invisible = await client.get(
        "/api/v1/logs", params={"category": "\u200b"}, headers=auth(TENANT_A_KEY)
    )
    assert only_invisible.status_code == 422

"""Pages read window by window over the daily partitions (logs/paging.py) are the
pages one statement over the whole table gives: cursor and offset paging, both orders,
filters, time bounds, and the bounded count."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from central_logger.logs import paging, repository
from tests.support.factories import with_id
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"count_limit": 60}


async def _store(client: httpx.AsyncClient, now: datetime) -> list[dict[str, Any]]:
    """Tenant A: 90 logs over 100 days (about 70 partitions, so 3 windows); tenant B:
    logs on the same days, which A must never see."""
    rng = random.Random(3)
    logs: dict[str, list[dict[str, Any]]] = {TENANT_A: [], TENANT_B: []}
    for tenant, count in ((TENANT_A, 90), (TENANT_B, 40)):
        for _ in range(count):
            at = now - timedelta(days=rng.uniform(0, 100))
            logs[tenant].append(
                with_id(executed_at=at.isoformat(), status=rng.choice(["SUCCESS", "FAILED"]))
            )
        response = await client.post(
            "/api/v1/logs/batch",
            params={"client_id": tenant},
            json={"logs": logs[tenant]},
            headers=auth(ADMIN_KEY),
        )
        assert response.json()["accepted"] == count
    return logs[TENANT_A]


def _order(logs: list[dict[str, Any]], *, newest_first: bool) -> list[str]:
    keyed = sorted(
        logs,
        key=lambda log: (datetime.fromisoformat(log["executed_at"]), log["id"]),
        reverse=newest_first,
    )
    return [log["id"] for log in keyed]


async def _walk(client: httpx.AsyncClient, params: dict[str, Any]) -> tuple[list[str], Any]:
    ids: list[str] = []
    cursor = None
    first = None
    while True:
        page = (
            await client.get(
                "/api/v1/logs",
                params={**params, "page_size": 7, **({"cursor": cursor} if cursor else {})},
                headers=auth(ADMIN_KEY),
            )
        ).json()
        first = first or page
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return ids, first


async def test_windows_split_a_long_range() -> None:
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=n) for n in range(100)]
    spans = paging.windows(days, executed_from=None, executed_to=None, newest_first=True)
    assert len(spans) == 4
    assert spans[0][1] > spans[-1][0]
    assert all(later[1] <= earlier[0] for earlier, later in itertools.pairwise(spans))


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_cursor_and_offset_pages_over_many_partitions(
    client: httpx.AsyncClient, order: str
) -> None:
    now = datetime.now(UTC)
    logs = await _store(client, now)
    newest_first = order == "desc"
    base = {"client_id": TENANT_A, "order": order}
    walked, first = await _walk(client, base)
    assert walked == _order(logs, newest_first=newest_first)
    # 90 matching, counted up to COUNT_LIMIT (60).
    assert (first["total"], first["total_exact"]) == (60, False)

    failed = [log for log in logs if log["status"] == "FAILED"]
    walked, _ = await _walk(client, {**base, "status": "FAILED"})
    assert walked == _order(failed, newest_first=newest_first)

    start, end = now - timedelta(days=75), now - timedelta(days=20)
    bounded = [log for log in logs if start <= datetime.fromisoformat(log["executed_at"]) < end]
    walked, first = await _walk(client, {**base, "from": start.isoformat(), "to": end.isoformat()})
    assert walked == _order(bounded, newest_first=newest_first)
    assert first["total"] == min(len(bounded), 60)

    expected = _order(logs, newest_first=newest_first)
    for page_number in (1, 2, 5, 6, 11):
        page = (
            await client.get(
                "/api/v1/logs",
                params={**base, "page": page_number, "page_size": 9},
                headers=auth(ADMIN_KEY),
            )
        ).json()
        start_at = (page_number - 1) * 9
        assert [i["id"] for i in page["items"]] == expected[start_at : start_at + 9], page_number


async def test_another_tenants_logs_stay_invisible_across_windows(
    client: httpx.AsyncClient,
) -> None:
    logs = await _store(client, datetime.now(UTC))
    page = (
        await client.get("/api/v1/logs", params={"page_size": 500}, headers=auth(TENANT_B_KEY))
    ).json()
    # All 40 of B's, over the same windows (an empty page would prove nothing).
    assert len(page["items"]) == 40
    assert {item["client_id"] for item in page["items"]} == {TENANT_B}
    assert not {log["id"] for log in logs} & {item["id"] for item in page["items"]}


@pytest.mark.parametrize(
    "settings_overrides", [{"count_limit": 60, "rollup_fold_interval_seconds": 3600}]
)
async def test_windows_past_the_first_read_only_days_with_logs(
    client: httpx.AsyncClient,
    empty_database: str,
    monkeypatch: pytest.MonkeyPatch,
    settings_overrides: dict[str, Any],
) -> None:
    """Past the first window, a page reads only the days the rollups say hold the
    tenant's logs: folded ones and deltas not yet folded alike, so nothing is missed,
    and a filter that matches nothing reads one window, not the year."""
    now = datetime.now(UTC)
    logs = await _store(client, now)
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("SELECT workflow_log_rollup_fold()")
    # Stored after the fold, older than every other log (so no window of theirs spans
    # these days): counted only in the pending deltas (this test's service folds once
    # an hour).
    late = [with_id(executed_at=(now - timedelta(days=d)).isoformat()) for d in (110, 120)]
    response = await client.post(
        "/api/v1/logs/batch", json={"logs": late}, headers=auth(TENANT_A_KEY)
    )
    assert response.json()["accepted"] == 2

    narrowed: list[tuple[datetime, datetime]] = []
    windows_holding = paging._windows_holding

    async def recording_windows_holding(conn: Any, **kwargs: Any) -> Any:
        spans = await windows_holding(conn, **kwargs)
        narrowed.extend(spans)
        return spans

    monkeypatch.setattr(paging, "_windows_holding", recording_windows_holding)
    walked, _ = await _walk(client, {"client_id": TENANT_A, "page_size": 40})
    assert walked == _order(logs + late, newest_first=True)
    days_with_logs = {
        datetime.fromisoformat(log["executed_at"]).astimezone(UTC).date() for log in logs + late
    }
    assert narrowed
    for start, end in narrowed:
        assert start.date() in days_with_logs
        assert (end - timedelta(microseconds=1)).date() in days_with_logs

    pages_read: list[Any] = []
    select_page = repository.select_page

    async def recording_select_page(conn: Any, **kwargs: Any) -> Any:
        pages_read.append(kwargs["query"])
        return await select_page(conn, **kwargs)

    monkeypatch.setattr(repository, "select_page", recording_select_page)
    nothing = (
        await client.get(
            "/api/v1/logs", params={"environment": "nowhere"}, headers=auth(TENANT_A_KEY)
        )
    ).json()
    assert (nothing["items"], nothing["total"], nothing["total_exact"]) == ([], 0, True)
    assert len(pages_read) == 1

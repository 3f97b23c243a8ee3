"""Each test sits on a boundary that a small, plausible bug would cross unnoticed: a
last page exactly full, a count exactly at COUNT_LIMIT, a FAILED log in every segment
a metrics range is read from, percentiles computed by hand, a log literally
categorised "uncategorized", executed_at just either side of the future limit.
`make mutants` (tools/mutants.py) applies those bugs and checks these tests fail."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from central_logger.metrics import histogram
from central_logger.metrics.service import fold_rollups, split_range
from tests.support.api import row_count, ship, wait_until
from tests.support.factories import a_log
from tests.support.tenants import ADMIN_KEY, TENANT_A_KEY, TENANT_B_KEY, auth

HOUR = timedelta(hours=1)


def a_day_ago_aligned(days: int) -> datetime:
    """Midnight UTC `days` days before today: a past day whatever the time of the run."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days)


async def list_page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/logs", params=params, headers=auth(TENANT_A_KEY))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """No background fold: "before folding" reads the pending deltas and raw rows."""
    return {"rollup_fold_interval_seconds": 3600.0}


# --- Paging: a last page exactly full -------------------------------------------------


async def test_a_last_page_exactly_full_has_no_next_cursor(client: httpx.AsyncClient) -> None:
    day = a_day_ago_aligned(3)
    ids = await ship(client, [a_log(executed_at=(day + i * HOUR).isoformat()) for i in range(10)])

    whole = await list_page(client, page_size=10)
    assert sorted(item["id"] for item in whole["items"]) == sorted(ids)
    assert whole["next_cursor"] is None

    # Walked by cursor, 5 at a time: two full pages, and the second is the last.
    first = await list_page(client, page_size=5)
    assert first["next_cursor"] is not None
    second = await list_page(client, page_size=5, cursor=first["next_cursor"])
    assert len(second["items"]) == 5
    assert second["next_cursor"] is None
    walked = [item["id"] for item in first["items"] + second["items"]]
    assert sorted(walked) == sorted(ids)

    # Page numbers: page 2 of 5 is the last, exactly full.
    numbered = await list_page(client, page=2, page_size=5)
    assert [item["id"] for item in numbered["items"]] == [item["id"] for item in second["items"]]
    assert numbered["next_cursor"] is None

    # One row more: now the second page is not the last.
    await ship(client, [a_log(executed_at=(day - HOUR).isoformat())])
    second = await list_page(client, page_size=5, cursor=first["next_cursor"])
    assert second["next_cursor"] is not None


# --- Counting: exactly COUNT_LIMIT ----------------------------------------------------


@pytest.mark.parametrize(
    "settings_overrides", [{"count_limit": 10, "rollup_fold_interval_seconds": 3600.0}]
)
async def test_a_count_exactly_at_the_limit_is_exact(client: httpx.AsyncClient) -> None:
    day = a_day_ago_aligned(3)
    await ship(client, [a_log(executed_at=(day + i * HOUR).isoformat()) for i in range(9)])
    below = await list_page(client, page_size=2)
    assert (below["total"], below["total_exact"]) == (9, True)

    await ship(client, [a_log(executed_at=(day + 9 * HOUR).isoformat())])
    at_limit = await list_page(client, page_size=2)
    assert (at_limit["total"], at_limit["total_exact"]) == (10, True)

    await ship(client, [a_log(executed_at=(day + 10 * HOUR).isoformat())])
    above = await list_page(client, page_size=2)
    assert (above["total"], above["total_exact"]) == (10, False)


# --- Category filter: a log literally categorised "uncategorized" ----------------------


async def test_the_uncategorized_filter_finds_logs_named_so_and_logs_without_one(
    client: httpx.AsyncClient,
) -> None:
    day = a_day_ago_aligned(2)
    without, named, billing = await ship(
        client,
        [
            a_log(category=None, executed_at=(day + HOUR).isoformat()),
            a_log(category="uncategorized", executed_at=(day + 2 * HOUR).isoformat()),
            a_log(category="billing", executed_at=(day + 3 * HOUR).isoformat()),
        ],
    )
    await ship(client, [a_log(category=None)], TENANT_B_KEY)
    page = await list_page(client, category="uncategorized")
    assert [item["id"] for item in page["items"]] == [named, without]
    assert (page["total"], page["total_exact"]) == (2, True)
    only_billing = await list_page(client, category="billing")
    assert [item["id"] for item in only_billing["items"]] == [billing]


# --- Validation: executed_at either side of the future limit --------------------------


@pytest.mark.parametrize(
    "settings_overrides", [{"max_future_seconds": 3600, "rollup_fold_interval_seconds": 3600.0}]
)
@pytest.mark.parametrize("path", ["/api/v1/logs", "/api/v1/logs/batch"])
async def test_the_future_limit_is_exact_within_a_minute(
    client: httpx.AsyncClient, path: str
) -> None:
    """A minute either side of the limit: a loosened or tightened limit (by more than a
    minute, e.g. 1.5x) flips one of the two. The minute covers the test's own latency."""
    limit = timedelta(seconds=3600)
    margin = timedelta(minutes=1)

    def send(executed_at: datetime) -> dict[str, Any]:
        log = a_log(executed_at=executed_at.isoformat())
        return {"json": [log] if path.endswith("batch") else log, "headers": auth(TENANT_A_KEY)}

    under = await client.post(path, **send(datetime.now(UTC) + limit - margin))
    over = await client.post(path, **send(datetime.now(UTC) + limit + margin))
    if path.endswith("batch"):
        assert under.status_code == 200, under.text
        assert (under.json()["accepted"], under.json()["rejected"]) == (1, 0)
        assert over.status_code == 200, over.text
        assert (over.json()["accepted"], over.json()["rejected"]) == (0, 1)
        errors = over.json()["items"][0]["errors"]
    else:
        assert under.status_code == 201, under.text
        assert over.status_code == 422, over.text
        errors = over.json()["errors"]
    assert [e["field"] for e in errors] == ["executed_at"]
    assert "future" in errors[0]["reason"]
    stored = await list_page(client)
    assert stored["total"] == 1


# --- Percentiles computed by hand ------------------------------------------------------


def test_percentiles_of_a_histogram_by_hand() -> None:
    """Bucket b spans [0.01 * 1.1**b, 0.01 * 1.1**(b+1)). The n logs of a bucket stand at
    the geometric midpoints of its n equal (log-scale) slices: slice i at (i + 0.5) / n."""
    counts = [0] * histogram.BUCKETS
    counts[48] = 1  # 1.0 s: ln(100) / ln(1.1) = 48.3
    # One log: the bucket's geometric midpoint, whatever the fraction.
    one_log = 0.01 * 1.1**48.5  # 1.0175...
    assert one_log == pytest.approx(1.01753, rel=1e-5)
    for fraction in (0.0, 0.5, 0.99):
        assert histogram.percentile(counts, fraction) == pytest.approx(one_log, rel=1e-9)

    counts[48] = 4
    # Four logs, p50: rank 0.5 * 3 = 1.5, so halfway between slices 1 and 2: 2/4 of the way.
    assert histogram.percentile(counts, 0.5) == pytest.approx(0.01 * 1.1**48.5, rel=1e-9)
    # p0: rank 0, the first slice's midpoint, 0.5/4 of the way.
    assert histogram.percentile(counts, 0.0) == pytest.approx(0.01 * 1.1**48.125, rel=1e-9)
    # p100: rank 3, the last slice's midpoint, 3.5/4 of the way.
    assert histogram.percentile(counts, 1.0) == pytest.approx(0.01 * 1.1**48.875, rel=1e-9)

    # Two buckets, 1 log in bucket 10 and 3 in bucket 20: p50 is rank 1.5, the middle
    # of bucket 20's second slice (1.5 - 1 = 0.5 into it, + 0.5 slice = 1/3 of the way).
    counts = [0] * histogram.BUCKETS
    counts[10], counts[20] = 1, 3
    assert histogram.percentile(counts, 0.5) == pytest.approx(0.01 * 1.1 ** (20 + 1 / 3))
    # p0: bucket 10's only slice, its middle.
    assert histogram.percentile(counts, 0.0) == pytest.approx(0.01 * 1.1**10.5)
    assert histogram.percentile([0] * histogram.BUCKETS, 0.5) is None

    # A rank between a bucket's last log and the next bucket's first is interpolated
    # linearly between the two, as percentile_cont does: 1, 1, 1, 1 and 10 s, p95 is
    # rank 3.8, 0.8 of the way from the fourth 1-s log to the 10-s one (percentile_cont
    # on the exact values: 8.2 s; placing it inside the 1-s bucket said 1.07 s).
    counts = [0] * histogram.BUCKETS
    counts[48], counts[72] = 4, 1
    fourth, fifth = 0.01 * 1.1 ** (48 + 3.5 / 4), 0.01 * 1.1**72.5
    assert histogram.percentile(counts, 0.95) == pytest.approx(fourth + 0.8 * (fifth - fourth))
    assert histogram.percentile(counts, 0.95) == pytest.approx(8.2, rel=0.05)
    # At the last log's own rank (3 of 4): that log, as before.
    assert histogram.percentile(counts, 0.75) == pytest.approx(fourth)


async def test_percentiles_through_the_api_by_hand(app: FastAPI, client: httpx.AsyncClient) -> None:
    """One log of 0.1 s (bucket 24), ten of 1.0 s (bucket 48: ln(100) / ln(1.1) = 48.3)
    and ten of 10 s (bucket 72: ln(1000) / ln(1.1) = 72.5): 21 logs, ranks 0..20."""
    now = datetime.now(UTC)
    times = [0.1] + [1.0] * 10 + [10.0] * 10
    await ship(
        client,
        [
            a_log(
                executed_at=(now - timedelta(minutes=5 + i)).isoformat(), execution_time_seconds=t
            )
            for i, t in enumerate(times)
        ],
    )
    # p50: rank 10, the 10th of bucket 48's slices (ranks 1..10): (10 - 1 + 0.5) / 10.
    # p95: rank 19, the 9th of bucket 72's (ranks 11..20): (19 - 11 + 0.5) / 10.
    # p99: rank 19.8: (19.8 - 11 + 0.5) / 10.
    expected = {"p50": 0.01 * 1.1**48.95, "p95": 0.01 * 1.1**72.85, "p99": 0.01 * 1.1**72.93}
    assert expected["p50"] == pytest.approx(1.0621, rel=1e-4)
    for folded in (False, True):
        if folded:
            await fold_rollups(app.state.central_logger.engine)
        body = (
            await client.get("/api/v1/metrics/overview?days=1", headers=auth(TENANT_A_KEY))
        ).json()
        for name, value in expected.items():
            assert body[f"{name}_execution_time_seconds"] == pytest.approx(value, rel=1e-9), name
        assert body["avg_execution_time_seconds"] == pytest.approx(110.1 / 21)
        categories = (
            await client.get("/api/v1/metrics/categories?days=1", headers=auth(TENANT_A_KEY))
        ).json()
        (stats,) = categories["categories"]
        assert stats["p95_execution_time_seconds"] == pytest.approx(expected["p95"], rel=1e-9)


# --- Metrics: a FAILED log in every segment of a range ---------------------------------


def _hourly_logs(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """In every hour the range touches, inside the range: one SUCCESS, one FAILED and
    one TIMEOUT (so a bug that counts only FAILED, or only non-FAILED, shows); and a
    FAILED just outside each end."""
    logs = []
    moment = start
    while moment < end:
        inside = min(moment + timedelta(minutes=5), end - timedelta(minutes=1))
        for status in ("SUCCESS", "FAILED", "TIMEOUT"):
            logs.append(a_log(executed_at=inside.isoformat(), status=status, category="billing"))
        moment = (moment.replace(minute=0, second=0, microsecond=0)) + HOUR
    for outside in (start - timedelta(minutes=1), end):
        logs.append(a_log(executed_at=outside.isoformat(), status="FAILED", category="billing"))
    return logs


def _expected_series(
    logs: list[dict[str, Any]], start: datetime, end: datetime, bucket: timedelta
) -> list[tuple[str, int, int]]:
    def floor(moment: datetime) -> datetime:
        if bucket == HOUR:
            return moment.replace(minute=0, second=0, microsecond=0)
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)

    runs: Counter[datetime] = Counter()
    failed: Counter[datetime] = Counter()
    for log in logs:
        at = datetime.fromisoformat(log["executed_at"])
        if start <= at < end:
            runs[floor(at)] += 1
            failed[floor(at)] += log["status"] != "SUCCESS"
    points = []
    moment = floor(start)
    while moment < end:
        points.append((moment.isoformat().replace("+00:00", "Z"), runs[moment], failed[moment]))
        moment += bucket
    return points


@pytest.mark.parametrize(
    ("start_offset", "end_offset", "bucket"),
    [
        # 29 h 45 min, hourly buckets: raw edges, whole hours from pending or the hourly rollup.
        (timedelta(hours=10, minutes=30), timedelta(days=1, hours=16, minutes=15), HOUR),
        # 4 days, daily buckets: raw edges, hours added (a short first day), whole days,
        # and a long last day read as the day less its hours outside the range.
        (
            timedelta(hours=14, minutes=30),
            timedelta(days=3, hours=20, minutes=15),
            timedelta(days=1),
        ),
    ],
    ids=["hourly", "daily"],
)
async def test_failed_runs_in_every_segment_of_a_range(
    app: FastAPI,
    client: httpx.AsyncClient,
    start_offset: timedelta,
    end_offset: timedelta,
    bucket: timedelta,
) -> None:
    day = a_day_ago_aligned(6)
    start, end = day + start_offset, day + end_offset
    segments = split_range(start, end, whole_days=bucket != HOUR)
    assert len(segments.raw) == 2
    if bucket != HOUR:
        assert segments.daily is not None
        assert segments.hourly
        assert segments.subtracted_hourly
    logs = _hourly_logs(start, end)
    await ship(client, logs)
    await ship(
        client, [a_log(executed_at=(start + HOUR).isoformat(), status="FAILED")], TENANT_B_KEY
    )
    expected = _expected_series(logs, start, end, bucket)
    params = {"from": start.isoformat(), "to": end.isoformat()}
    inside = sum(runs for _, runs, _ in expected)
    assert all(runs >= 3 and failed == 2 * runs // 3 for _, runs, failed in expected)

    for folded in (False, True):
        if folded:
            await fold_rollups(app.state.central_logger.engine)
        body = (
            await client.get("/api/v1/metrics/overview", params=params, headers=auth(TENANT_A_KEY))
        ).json()
        assert body["bucket"] == ("hour" if bucket == HOUR else "day")
        series = [(p["start"], p["runs"], p["failed_runs"]) for p in body["series"]]
        assert series == expected, f"folded={folded}"
        assert (body["total_runs"], body["failed_runs"]) == (inside, 2 * inside // 3)
        assert {s["status"]: s["runs"] for s in body["by_status"]} == {
            "SUCCESS": inside // 3,
            "FAILED": inside // 3,
            "TIMEOUT": inside // 3,
        }
        assert body["by_environment"] == [
            {"environment": "production", "runs": inside, "failed_runs": 2 * inside // 3}
        ]
        categories = (
            await client.get(
                "/api/v1/metrics/categories", params=params, headers=auth(TENANT_A_KEY)
            )
        ).json()
        (billing,) = categories["categories"]
        assert (billing["runs"], billing["failed_runs"], billing["successful_runs"]) == (
            inside,
            2 * inside // 3,
            inside // 3,
        )
        assert math.isclose(billing["success_rate"], 1 / 3)


# --- Body limits: a streamed body (no Content-Length) either side of the limit ----------


def _log_of_exactly(size: int) -> bytes:
    """A valid log whose JSON text is exactly `size` bytes (padded in its payload)."""
    log = a_log(payload={"pad": ""})
    bare = orjson.dumps(log)
    log["payload"]["pad"] = "x" * (size - len(bare))
    body = orjson.dumps(log)
    assert len(body) == size
    return body


@pytest.mark.parametrize(
    "settings_overrides", [{"max_body_bytes": 2000, "rollup_fold_interval_seconds": 3600.0}]
)
async def test_a_streamed_body_is_held_to_the_limit(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    """Sent in chunks without a Content-Length, so only the limit on what is read
    applies (a declared length is refused before reading)."""

    async def post_streamed(body: bytes) -> httpx.Response:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 128):
                yield body[start : start + 128]

        headers = {**auth(TENANT_A_KEY), "Content-Type": "application/json"}
        return await client.post("/api/v1/logs", content=chunks(), headers=headers)

    at_limit = await post_streamed(_log_of_exactly(2000))
    assert at_limit.status_code == 201, at_limit.text
    over = await post_streamed(_log_of_exactly(2001))
    assert over.status_code == 413, over.text
    assert over.headers["content-type"] == "application/problem+json"
    assert row_count(empty_database) == 1


# --- Keys: a key that expires while the key store holds it ------------------------------


@pytest.mark.parametrize(
    "settings_overrides", [{"key_cache_ttl_seconds": 60, "rollup_fold_interval_seconds": 3600.0}]
)
async def test_a_cached_key_stops_working_when_it_expires(client: httpx.AsyncClient) -> None:
    """The key store reloads every 60 s here: the retired key's expiry alone must end it,
    not the next reload (which would drop it anyway)."""
    admin = auth(ADMIN_KEY)
    made = await client.post("/api/v1/admin/keys", json={"client_id": "acme"}, headers=admin)
    assert made.status_code == 201, made.text
    old_key, prefix = made.json()["key"], made.json()["prefix"]
    rotated = await client.post(
        f"/api/v1/admin/keys/{prefix}/rotate", json={"overlap_seconds": 2}, headers=admin
    )
    assert rotated.status_code == 201, rotated.text
    new_key = rotated.json()["new"]["key"]
    # Both known to the store now (the new key's first use reloads it).
    assert (await client.get("/api/v1/logs", headers=auth(new_key))).status_code == 200

    async def old_refused() -> bool:
        response = await client.get("/api/v1/logs", headers=auth(old_key))
        assert response.status_code in (200, 401), response.text
        return response.status_code == 401

    await wait_until(old_refused, "the retired key is refused once its overlap ends")
    assert (await client.get("/api/v1/logs", headers=auth(new_key))).status_code == 200

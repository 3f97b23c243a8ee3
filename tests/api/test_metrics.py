"""Metrics checked against figures computed here, independently of the SQL."""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from central_logger.db.engine import create_maintenance_engine
from central_logger.http.state import AppState
from central_logger.metrics import histogram
from central_logger.metrics.service import fold_rollups, run_rollup_folder, split_range
from central_logger.settings import Settings
from tests.support.api import ship
from tests.support.factories import a_log
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth


def calendar_days_touched(start: datetime, end: datetime) -> int:
    """UTC days with at least one instant in [start, end)."""
    last = end - timedelta(microseconds=1)
    return (last.date() - start.date()).days + 1


def hours_touched(start: datetime, end: datetime) -> int:
    first = start.replace(minute=0, second=0, microsecond=0)
    return math.ceil((end - first) / timedelta(hours=1))


def percentile_cont(values: list[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between closest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def assert_percentile(reported: float, times: list[float], fraction: float) -> None:
    """Percentiles come from the rollups' histogram: exactly what the histogram gives
    for these values, and within one bucket (10%) of the values either side of the
    rank that PostgreSQL's percentile_cont interpolates between."""
    counts = [0] * histogram.BUCKETS
    for value in times:
        counts[histogram.bucket_of(value)] += 1
    assert reported == pytest.approx(histogram.percentile(counts, fraction))
    ordered = sorted(times)
    rank = fraction * (len(ordered) - 1)
    below, above = ordered[math.floor(rank)], ordered[math.ceil(rank)]
    assert below / histogram.GROWTH <= reported <= above * histogram.GROWTH


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Folds happen when a test asks, not every 2 s behind its back: "before folding"
    then means before, and a fold's count is known."""
    return {"rollup_fold_interval_seconds": 3600.0}


@pytest.fixture
async def known_logs(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    rng = random.Random(42)
    now = datetime.now(UTC)
    logs = [
        a_log(
            executed_at=(now - timedelta(minutes=rng.uniform(1, 3 * 24 * 60))).isoformat(),
            status=rng.choice(["SUCCESS", "SUCCESS", "SUCCESS", "failed", "TIMEOUT"]),
            environment=rng.choice(["production", "staging"]),
            category=rng.choice(["billing", "refund", "spam", None]),
            execution_time_seconds=rng.choice([None, round(rng.uniform(0.1, 30), 3)]),
        )
        for _ in range(60)
    ]
    # Noise: another tenant, and this tenant's logs outside every range asked below.
    await ship(client, [a_log(executed_at=now.isoformat()) for _ in range(5)], TENANT_B_KEY)
    await ship(client, [a_log(executed_at=(now - timedelta(days=40)).isoformat())], TENANT_A_KEY)
    await ship(client, logs, TENANT_A_KEY)
    return logs


async def test_overview_matches_independent_figures(
    client: httpx.AsyncClient, known_logs: list[dict[str, Any]]
) -> None:
    body = (await client.get("/api/v1/metrics/overview?days=7", headers=auth(TENANT_A_KEY))).json()
    statuses = [log["status"].upper() for log in known_logs]
    times = [
        log["execution_time_seconds"]
        for log in known_logs
        if log["execution_time_seconds"] is not None
    ]
    successes = statuses.count("SUCCESS")

    assert body["total_runs"] == 60
    assert body["successful_runs"] == successes
    assert body["failed_runs"] == 60 - successes
    assert body["success_rate"] == pytest.approx(successes / 60)
    assert body["avg_execution_time_seconds"] == pytest.approx(sum(times) / len(times))
    for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert_percentile(body[f"{name}_execution_time_seconds"], times, fraction)
    assert {s["status"]: s["runs"] for s in body["by_status"]} == dict(Counter(statuses))
    environments = Counter(log["environment"] for log in known_logs)
    assert {e["environment"]: e["runs"] for e in body["by_environment"]} == dict(environments)
    failed_by_env = Counter(
        log["environment"] for log in known_logs if log["status"].upper() != "SUCCESS"
    )
    assert {e["environment"]: e["failed_runs"] for e in body["by_environment"]} == {
        env: failed_by_env.get(env, 0) for env in environments
    }

    assert body["bucket"] == "day"
    # The calendar days the range touches: 8 when it starts mid-day, 7 at exactly 00:00.
    start, end = datetime.fromisoformat(body["from"]), datetime.fromisoformat(body["to"])
    assert end - start == timedelta(days=7)
    assert len(body["series"]) == calendar_days_touched(start, end)
    per_day = Counter(log["executed_at"][:10] for log in known_logs)
    assert {p["start"][:10]: p["runs"] for p in body["series"] if p["runs"]} == dict(per_day)
    assert sum(p["failed_runs"] for p in body["series"]) == 60 - successes


async def test_short_ranges_have_hourly_buckets(
    client: httpx.AsyncClient, known_logs: list[dict[str, Any]]
) -> None:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=24)
    body = (
        await client.get(
            "/api/v1/metrics/overview",
            params={"from": start.isoformat(), "to": end.isoformat()},
            headers=auth(TENANT_A_KEY),
        )
    ).json()
    assert body["bucket"] == "hour"
    assert len(body["series"]) == 24
    inside = [
        log for log in known_logs if start.isoformat() <= log["executed_at"] < end.isoformat()
    ]
    assert body["total_runs"] == len(inside)
    per_hour = Counter(log["executed_at"][:13] for log in inside)
    assert {p["start"][:13]: p["runs"] for p in body["series"] if p["runs"]} == dict(per_hour)


async def test_environment_narrows_metrics(
    client: httpx.AsyncClient, known_logs: list[dict[str, Any]]
) -> None:
    body = (
        await client.get(
            "/api/v1/metrics/overview?days=7&environment=staging", headers=auth(TENANT_A_KEY)
        )
    ).json()
    staging = [log for log in known_logs if log["environment"] == "staging"]
    assert body["total_runs"] == len(staging)
    times = [t for log in staging if (t := log["execution_time_seconds"]) is not None]
    for fraction in (0.5, 0.95, 0.99):
        assert_percentile(body[f"p{round(fraction * 100)}_execution_time_seconds"], times, fraction)


async def test_environment_narrows_categories_and_their_percentiles(
    app: FastAPI, client: httpx.AsyncClient, known_logs: list[dict[str, Any]]
) -> None:
    staging = [log for log in known_logs if log["environment"] == "staging"]
    for folded in (False, True):
        if folded:
            await fold_rollups(app.state.central_logger.engine)
        body = (
            await client.get(
                "/api/v1/metrics/categories",
                params={"days": 7, "environment": "staging"},
                headers=auth(TENANT_A_KEY),
            )
        ).json()
        assert body["total_runs"] == len(staging)
        assert {c["category"] for c in body["categories"]} == {
            log["category"] or "uncategorized" for log in staging
        }
        for stats in body["categories"]:
            mine = [
                log for log in staging if (log["category"] or "uncategorized") == stats["category"]
            ]
            assert stats["runs"] == len(mine)
            times = [t for log in mine if (t := log["execution_time_seconds"]) is not None]
            if times:
                assert_percentile(stats["p95_execution_time_seconds"], times, 0.95)
            else:
                assert stats["p95_execution_time_seconds"] is None


async def test_a_category_named_uncategorized_is_counted_with_the_logs_without_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    logs = [
        a_log(category=None, execution_time_seconds=1.0),
        a_log(category="uncategorized", execution_time_seconds=9.0),
        a_log(category="uncategorized", execution_time_seconds=None),
    ]
    await ship(client, logs, TENANT_A_KEY)
    for folded in (False, True):
        if folded:
            await fold_rollups(app.state.central_logger.engine)
        body = (
            await client.get("/api/v1/metrics/categories?days=1", headers=auth(TENANT_A_KEY))
        ).json()
        (stats,) = body["categories"]
        assert (stats["category"], stats["runs"]) == ("uncategorized", 3)
        assert_percentile(stats["p95_execution_time_seconds"], [1.0, 9.0], 0.95)


async def test_categories_match_independent_figures(
    client: httpx.AsyncClient, known_logs: list[dict[str, Any]]
) -> None:
    body = (
        await client.get("/api/v1/metrics/categories?days=7", headers=auth(TENANT_A_KEY))
    ).json()
    assert body["total_runs"] == 60
    by_name = {c["category"]: c for c in body["categories"]}
    assert set(by_name) == {"billing", "refund", "spam", "uncategorized"}
    runs = [c["runs"] for c in body["categories"]]
    assert runs == sorted(runs, reverse=True)
    for name, stats in by_name.items():
        mine = [log for log in known_logs if (log["category"] or "uncategorized") == name]
        ok = sum(1 for log in mine if log["status"].upper() == "SUCCESS")
        times = [
            log["execution_time_seconds"]
            for log in mine
            if log["execution_time_seconds"] is not None
        ]
        assert stats["runs"] == len(mine)
        assert stats["successful_runs"] == ok
        assert stats["failed_runs"] == len(mine) - ok
        assert stats["success_rate"] == pytest.approx(ok / len(mine))
        assert stats["share"] == pytest.approx(len(mine) / 60)
        assert stats["avg_execution_time_seconds"] == pytest.approx(sum(times) / len(times))
        assert_percentile(stats["p95_execution_time_seconds"], times, 0.95)


async def test_empty_range(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/metrics/overview?days=1", headers=auth(TENANT_A_KEY))).json()
    assert body["total_runs"] == 0
    assert body["success_rate"] is None
    assert body["p95_execution_time_seconds"] is None
    start, end = datetime.fromisoformat(body["from"]), datetime.fromisoformat(body["to"])
    assert end - start == timedelta(days=1)
    # 25 hours when the range starts mid-hour, 24 on the hour.
    assert len(body["series"]) == hours_touched(start, end)
    assert all(p["runs"] == 0 for p in body["series"])
    categories = (
        await client.get("/api/v1/metrics/categories?days=1", headers=auth(TENANT_A_KEY))
    ).json()
    assert categories == {**categories, "total_runs": 0, "categories": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": 0}, "query.days"),
        ({"days": 367}, "query.days"),
        ({"days": 3, "from": "2026-01-01T00:00:00Z"}, "query.days"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "query.from"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "query.from"),
        ({"from": "2026-01-01"}, "query.from"),
        ({"environment": "x\u0000"}, "query.environment"),
    ],
    ids=["zero-days", "too-many-days", "days-and-from", "reversed", "too-long", "naive", "nul"],
)
@pytest.mark.parametrize("path", ["/api/v1/metrics/overview", "/api/v1/metrics/categories"])
async def test_bad_range_is_422(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], field: str
) -> None:
    response = await client.get(path, params=params, headers=auth(TENANT_A_KEY))
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("path", ["/api/v1/metrics/overview", "/api/v1/metrics/categories"])
@pytest.mark.parametrize("days", [1, 7])
async def test_figures_are_the_same_before_and_after_folding(
    app: FastAPI, client: httpx.AsyncClient, known_logs: list[dict[str, Any]], path: str, days: int
) -> None:
    end = datetime.now(UTC).replace(microsecond=0)
    params = {"from": (end - timedelta(days=days)).isoformat(), "to": end.isoformat()}
    pending = (await client.get(path, params=params, headers=auth(TENANT_A_KEY))).json()
    state: AppState = app.state.central_logger
    with psycopg.connect(state.settings.database_url or "") as conn:
        row = conn.execute("SELECT count(*) FROM workflow_log_rollup_pending").fetchone()
    assert row is not None
    assert row[0] > 0
    assert await fold_rollups(state.engine) == row[0]
    # Everything pending moved: a second fold finds nothing.
    assert await fold_rollups(state.engine) == 0
    folded = (await client.get(path, params=params, headers=auth(TENANT_A_KEY))).json()
    # Equal but for the order in which floating-point sums were added up.
    assert rounded(folded) == rounded(pending)
    assert folded["total_runs"] > 0


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


async def test_sql_and_python_agree_on_buckets(app: FastAPI) -> None:
    values = [0, 0.001, 0.0099, 0.01, 0.011, 0.5, 1, 1.1, 2.5, 59.9, 3600, 1e6]
    state: AppState = app.state.central_logger
    async with state.engine.connect() as conn:
        for value in values:
            statement = text(f"SELECT {histogram.bucket_sql('CAST(:v AS float8)')}")
            assert (
                await conn.execute(statement, {"v": value})
            ).scalar_one() == histogram.bucket_of(value)


def test_ranges_split_into_days_hours_and_raw_edges() -> None:
    start = datetime(2026, 11, 1, 10, 30, tzinfo=UTC)
    end = datetime(2026, 11, 5, 2, 15, tzinfo=UTC)
    segments = split_range(start, end, whole_days=True)
    hour = timedelta(hours=1)
    assert segments.raw == [(start, start.replace(minute=0) + hour), (end.replace(minute=0), end)]
    assert segments.daily == (datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC))
    assert segments.hourly == [
        (datetime(2026, 11, 1, 11, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)),
        (datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 11, 5, 2, tzinfo=UTC)),
    ]
    assert segments.pending == (
        datetime(2026, 11, 1, 11, tzinfo=UTC),
        datetime(2026, 11, 5, 2, tzinfo=UTC),
    )
    assert split_range(start, end, whole_days=False).daily is None
    inside_an_hour = split_range(start, start + timedelta(minutes=10), whole_days=True)
    assert inside_an_hour.raw == [(start, start + timedelta(minutes=10))]
    assert inside_an_hour.pending is None


async def test_the_folder_vacuums_the_pending_tables_it_empties(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    """Folds delete every pending delta; left to autovacuum (once a minute at best),
    metrics queries would read the dead rows meanwhile."""

    def vacuums() -> dict[str, int]:
        with psycopg.connect(settings.database_url or "") as conn:
            rows = conn.execute(
                "SELECT relname, vacuum_count FROM pg_stat_user_tables "
                "WHERE relname LIKE 'workflow_log_rollup%pending'"
            ).fetchall()
        return {name: count for name, count in rows}

    before = vacuums()
    assert len(before) == 2
    state: AppState = app.state.central_logger
    maintenance = create_maintenance_engine(settings, settings.database_url or "")
    folder = asyncio.create_task(
        run_rollup_folder(state.engine, maintenance, interval_seconds=0.05)
    )
    try:
        await ship(client, [a_log()], TENANT_A_KEY)
        for _ in range(200):
            if all(vacuums()[name] > count for name, count in before.items()):
                break
            await asyncio.sleep(0.05)
        assert all(vacuums()[name] > count for name, count in before.items())
    finally:
        folder.cancel()
        await maintenance.dispose()
    assert (await client.get("/api/v1/metrics/overview?days=1", headers=auth(TENANT_A_KEY))).json()[
        "total_runs"
    ] == 1


async def test_partial_days_read_as_whole_days_less_the_hours_outside(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    day = (datetime.now(UTC) - timedelta(days=5)).replace(hour=0, minute=0, second=0, microsecond=0)
    hour = timedelta(hours=1)
    start = day + timedelta(hours=2, minutes=30)  # 21 whole hours of the first day in range
    end = day + timedelta(days=3, hours=20, minutes=15)  # 20 whole hours of the last day
    segments = split_range(start, end, whole_days=True)
    assert segments.daily == (day, day + timedelta(days=4))
    assert segments.hourly == []
    assert segments.subtracted_hourly == [
        (day, day + 3 * hour),
        (day + timedelta(days=3, hours=20), day + timedelta(days=4)),
    ]

    rng = random.Random(7)
    boundaries = [
        timedelta(minutes=m)
        for m in (10, 149, 150, 151, 179, 180, 181, 60 * 24 * 3, 60 * 24 * 3 + 1199)
    ] + [end - day - timedelta(minutes=1), end - day, end - day + timedelta(minutes=1)]
    offsets = boundaries + [timedelta(minutes=rng.uniform(0, 4 * 24 * 60)) for _ in range(60)]
    logs = [
        a_log(
            executed_at=(day + offset).isoformat(),
            status=rng.choice(["SUCCESS", "SUCCESS", "failed"]),
            environment=rng.choice(["production", "staging"]),
            category=rng.choice(["billing", "refund", None]),
            execution_time_seconds=round(rng.uniform(0.1, 30), 3),
        )
        for offset in offsets
    ]
    await ship(client, logs, TENANT_A_KEY)
    # Another tenant's logs in a subtracted hour and inside the range: the whole day
    # read from the daily rollup and the hours subtracted must both be this tenant's.
    other = [a_log(executed_at=(day + h * hour).isoformat()) for h in (1, 30, 90)]
    await ship(client, other, TENANT_B_KEY)
    state: AppState = app.state.central_logger
    await fold_rollups(state.engine)

    inside = [log for log in logs if start <= datetime.fromisoformat(log["executed_at"]) < end]
    assert 0 < len(inside) < len(logs)
    params = {"from": start.isoformat(), "to": end.isoformat()}
    overview = (
        await client.get("/api/v1/metrics/overview", params=params, headers=auth(TENANT_A_KEY))
    ).json()
    assert overview["total_runs"] == len(inside)
    statuses = Counter(log["status"].upper() for log in inside)
    assert {s["status"]: s["runs"] for s in overview["by_status"]} == dict(statuses)
    per_day = Counter(log["executed_at"][:10] for log in inside)
    assert {p["start"][:10]: p["runs"] for p in overview["series"] if p["runs"]} == dict(per_day)
    times = [log["execution_time_seconds"] for log in inside]
    assert overview["avg_execution_time_seconds"] == pytest.approx(sum(times) / len(times))
    assert_percentile(overview["p99_execution_time_seconds"], times, 0.99)

    categories = (
        await client.get("/api/v1/metrics/categories", params=params, headers=auth(TENANT_A_KEY))
    ).json()
    assert {c["category"] for c in categories["categories"]} == {
        log["category"] or "uncategorized" for log in inside
    }
    for stats in categories["categories"]:
        mine = [log for log in inside if (log["category"] or "uncategorized") == stats["category"]]
        assert stats["runs"] == len(mine)
        assert stats["successful_runs"] == sum(1 for log in mine if log["status"] == "SUCCESS")
        assert_percentile(
            stats["p95_execution_time_seconds"],
            [log["execution_time_seconds"] for log in mine],
            0.95,
        )
    assert categories["total_runs"] == len(inside)

    # Narrowed by environment: the subtracted hours are narrowed the same way.
    staging = [log for log in inside if log["environment"] == "staging"]
    narrowed = {**params, "environment": "staging"}
    for path in ("/api/v1/metrics/overview", "/api/v1/metrics/categories"):
        body = (await client.get(path, params=narrowed, headers=auth(TENANT_A_KEY))).json()
        assert body["total_runs"] == len(staging)
    their = (
        await client.get("/api/v1/metrics/overview", params=params, headers=auth(TENANT_B_KEY))
    ).json()
    assert their["total_runs"] == 2  # hours 30 and 90; hour 1 is before the range


async def test_look_alike_spellings_of_a_category_are_one_category(
    client: httpx.AsyncClient,
) -> None:
    # "café" composed (NFC), decomposed (NFD), and with zero-width characters in it.
    spellings = ["caf\u00e9", "cafe\u0301", "ca\u200bf\u00e9", "\ufeffcaf\u00e9\u200d"]
    logs = [a_log(category=s, environment="pro\u200bd", status="success\u2060") for s in spellings]
    await ship(client, logs, TENANT_A_KEY)
    body = (
        await client.get("/api/v1/metrics/categories?days=1", headers=auth(TENANT_A_KEY))
    ).json()
    assert [(c["category"], c["runs"]) for c in body["categories"]] == [("caf\u00e9", 4)]
    overview = (
        await client.get(
            "/api/v1/metrics/overview",
            params={"days": 1, "environment": "pr\u200dod"},
            headers=auth(TENANT_A_KEY),
        )
    ).json()
    assert overview["total_runs"] == 4
    assert overview["by_environment"] == [{"environment": "prod", "runs": 4, "failed_runs": 0}]
    assert overview["by_status"] == [{"status": "SUCCESS", "runs": 4}]

"""The insights endpoints on a real database: figures computed independently from the
logs sent, agreement with the metrics API, tenant isolation and bad parameters."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from central_logger.metrics import histogram
from central_logger.metrics.service import fold_rollups
from tests.support.factories import a_log, with_id
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth

NOW = datetime.now(UTC)


async def ship(client: httpx.AsyncClient, logs: list[dict[str, Any]], key: str) -> None:
    for first in range(0, len(logs), 500):
        response = await client.post(
            "/api/v1/logs/batch", json=logs[first : first + 500], headers=auth(key)
        )
        assert response.status_code == 200, response.text
        assert response.json()["rejected"] == 0, response.text


async def get(client: httpx.AsyncClient, path: str, key: str, **params: Any) -> httpx.Response:
    return await client.get(f"/api/v1/insights/{path}", params=params, headers=auth(key))


async def ok(client: httpx.AsyncClient, path: str, key: str, **params: Any) -> dict[str, Any]:
    response = await get(client, path, key, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson's score interval written from its textbook form."""
    z, p = 1.959963984540054, successes / n
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / denominator, (centre + half) / denominator


def p95_of(times: list[float]) -> float | None:
    counts = [0] * histogram.BUCKETS
    for value in times:
        counts[histogram.bucket_of(value)] += 1
    return histogram.percentile(counts, 0.95)


def runs_of(version: str, runs: int, failed: int, hours_ago: float, **extra: Any) -> list[Any]:
    return [
        a_log(
            workflow_version=version,
            status="FAILED" if i < failed else "SUCCESS",
            execution_time_seconds=round(0.5 + (i % 17) * 0.3 * (2 if failed > 10 else 1), 3),
            executed_at=(NOW - timedelta(hours=hours_ago, minutes=i % 50)).isoformat(),
            **extra,
        )
        for i in range(runs)
    ]


@pytest.fixture
async def two_versions(client: httpx.AsyncClient) -> dict[str, list[Any]]:
    logs = {
        "1.0.0": runs_of("1.0.0", 60, 3, hours_ago=40),
        "2.0.0": runs_of("2.0.0", 50, 15, hours_ago=3, category="refund"),
    }
    await ship(client, logs["1.0.0"] + logs["2.0.0"], TENANT_A_KEY)
    await ship(client, runs_of("9.9.9", 30, 1, hours_ago=5), TENANT_B_KEY)
    return logs


async def test_version_comparison_matches_independent_figures(
    client: httpx.AsyncClient, two_versions: dict[str, list[Any]]
) -> None:
    body = await ok(client, "versions", TENANT_A_KEY, days=3, version="2.0.0", baseline="1.0.0")
    assert [v["version"] for v in body["versions"]] == ["1.0.0", "2.0.0"]
    comparison = body["comparison"]
    for side, version, successes, n in (
        ("baseline", "1.0.0", 57, 60),
        ("candidate", "2.0.0", 35, 50),
    ):
        stats = comparison[side]
        assert (stats["version"], stats["runs"], stats["successful_runs"]) == (
            version,
            n,
            successes,
        )
        low, high = wilson(successes, n)
        assert stats["success_rate_low"] == pytest.approx(low)
        assert stats["success_rate_high"] == pytest.approx(high)
        times = [log["execution_time_seconds"] for log in two_versions[version]]
        assert stats["p95_execution_time_seconds"] == pytest.approx(p95_of(times))
    difference = comparison["difference"]
    assert difference["success_rate"] == pytest.approx(35 / 50 - 57 / 60)
    assert difference["significant"] is True
    assert difference["success_rate_high"] < 0
    assert "2.0.0 succeeds worse than 1.0.0" in difference["verdict"]


async def test_version_figures_agree_with_the_metrics_api(
    app: FastAPI, client: httpx.AsyncClient, two_versions: dict[str, list[Any]]
) -> None:
    window = {"from": (NOW - timedelta(hours=30)).isoformat(), "to": NOW.isoformat()}
    for folded in (False, True):
        if folded:
            await fold_rollups(app.state.central_logger.engine)
        versions = await ok(client, "versions", TENANT_B_KEY, **window)
        overview = (
            await client.get("/api/v1/metrics/overview", params=window, headers=auth(TENANT_B_KEY))
        ).json()
        (only,) = versions["versions"]
        assert only["runs"] == overview["total_runs"] == 30
        for p in ("p50", "p95", "p99"):
            key = f"{p}_execution_time_seconds"
            assert only[key] == pytest.approx(overview[key])


async def test_the_default_baseline_is_the_version_before(
    app: FastAPI, client: httpx.AsyncClient, two_versions: dict[str, list[Any]]
) -> None:
    await fold_rollups(app.state.central_logger.engine)
    body = await ok(client, "versions", TENANT_A_KEY, days=3, version="2.0.0")
    assert body["comparison"]["baseline"]["version"] == "1.0.0"
    response = await get(client, "versions", TENANT_A_KEY, days=3, version="1.0.0")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.baseline"


async def test_trends_put_the_worst_category_first(
    client: httpx.AsyncClient, two_versions: dict[str, list[Any]]
) -> None:
    # billing_issue ran well throughout; refund (version 2.0.0) failed 30% in the second half.
    await ship(client, runs_of("1.0.0", 20, 1, hours_ago=10), TENANT_A_KEY)
    body = await ok(client, "trends", TENANT_A_KEY, days=2)
    assert body["bucket"] == "hour"
    first = body["categories"][0]
    assert first["category"] == "refund"
    assert first["runs"] == 50
    assert sum(p["runs"] for p in first["points"]) == 50
    billing = next(c for c in body["categories"] if c["category"] == "billing_issue")
    assert billing["runs"] == 80
    # Narrowed by environment, trends read the version rows instead of the category
    # rows: every run here is in production, so the figures are the same.
    narrowed = await ok(client, "trends", TENANT_A_KEY, days=2, environment="production")
    assert narrowed["categories"] == body["categories"]
    staging = await ok(client, "trends", TENANT_A_KEY, days=2, environment="staging")
    assert staging["categories"] == []


def _hour(weeks_ago: int, offset: int) -> datetime:
    target = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    return target - timedelta(weeks=weeks_ago) + timedelta(hours=offset)


@pytest.fixture
async def failure_spike(client: httpx.AsyncClient) -> datetime:
    """Four weeks of the same hour (and the hours either side) with 10 runs and one
    failure, then an hour with 9 failures out of 10."""
    logs = []
    for weeks_ago in range(1, 5):
        for offset in (-1, 0, 1):
            hour = _hour(weeks_ago, offset)
            logs += [
                a_log(
                    status="FAILED" if i == 0 else "SUCCESS",
                    executed_at=(hour + timedelta(minutes=5 * i)).isoformat(),
                )
                for i in range(10)
            ]
    spike = _hour(0, 0)
    logs += [
        a_log(
            status="FAILED" if i < 9 else "SUCCESS",
            executed_at=(spike + timedelta(minutes=5 * i)).isoformat(),
        )
        for i in range(10)
    ]
    await ship(client, logs, TENANT_A_KEY)
    return spike


async def test_a_failure_spike_is_an_anomaly(
    app: FastAPI, client: httpx.AsyncClient, failure_spike: datetime
) -> None:
    params = {"days": 1, "min_runs": 5}
    for folded in (False, True):
        if folded:
            await fold_rollups(app.state.central_logger.engine)
        body = await ok(client, "anomalies", TENANT_A_KEY, **params)
        failures = [a for a in body["anomalies"] if a["kind"] == "failure_rate"]
        assert [datetime.fromisoformat(a["hour"]) for a in failures] == [failure_spike]
        (spike,) = failures
        assert (spike["client_id"], spike["environment"], spike["category"]) == (
            TENANT_A,
            "production",
            "billing_issue",
        )
        assert spike["observed"] == pytest.approx(0.9)
        assert spike["explanation"].startswith("failure rate 90% (9 of 10 runs), usually 10%")
    # With the default minimum volume, ten runs are too few to judge.
    assert (await ok(client, "anomalies", TENANT_A_KEY, days=1))["anomalies"] == []
    only_counts = await ok(client, "anomalies", TENANT_A_KEY, kind="run_count", **params)
    assert all(a["kind"] == "run_count" for a in only_counts["anomalies"])


async def test_a_slow_hour_is_an_anomaly_and_histograms_below_the_volume_are_skipped(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Twelve past hours of 8 runs at about a second, then an hour of 8 runs at 5 s: a
    p95 anomaly with min_runs 5; with min_runs 9 no hour has the volume, so none."""
    logs = []
    for weeks_ago in range(1, 5):
        for offset in (-1, 0, 1):
            hour = _hour(weeks_ago, offset)
            logs += [
                a_log(
                    execution_time_seconds=0.9 + i / 40,
                    executed_at=(hour + timedelta(minutes=6 * i)).isoformat(),
                )
                for i in range(8)
            ]
    slow = _hour(0, 0)
    logs += [
        a_log(execution_time_seconds=5.0, executed_at=(slow + timedelta(minutes=6 * i)).isoformat())
        for i in range(8)
    ]
    await ship(client, logs, TENANT_A_KEY)
    for folded in (False, True):
        if folded:
            await fold_rollups(app.state.central_logger.engine)
        body = await ok(client, "anomalies", TENANT_A_KEY, days=1, min_runs=5, kind="p95")
        (anomaly,) = body["anomalies"]
        assert datetime.fromisoformat(anomaly["hour"]) == slow
        assert anomaly["observed"] == pytest.approx(p95_of([5.0] * 8))
        assert anomaly["expected"] == pytest.approx(p95_of([0.9 + i / 40 for i in range(8)]))
        quiet = await ok(client, "anomalies", TENANT_A_KEY, days=1, min_runs=9, kind="p95")
        assert quiet["anomalies"] == []


@pytest.fixture
async def failures(client: httpx.AsyncClient) -> list[str]:
    def failed(error: str, hours_ago: float, step: str = "respond") -> dict[str, Any]:
        return with_id(
            status="FAILED",
            executed_at=(NOW - timedelta(hours=hours_ago)).isoformat(),
            payload={
                "trace": [
                    {"name": "classify", "status": "ok"},
                    {"name": step, "status": "error", "error": error},
                ]
            },
        )

    recent = [
        failed(f"upstream 502 from https://crm.example/api/t/{n} after {n * 7} ms", 2 + n / 10)
        for n in range(1, 6)
    ] + [failed(f"ticket TCK-{n}04 locked by agent_{n}", 3, step="assign") for n in range(3)]
    older = [failed("ticket TCK-777 locked by agent_9", 24 * 10, step="assign")]
    await ship(client, recent + older, TENANT_A_KEY)
    await ship(client, [failed("disk full", 1)], TENANT_B_KEY)
    return [log["id"] for log in recent]


async def test_failures_group_into_patterns(client: httpx.AsyncClient, failures: list[str]) -> None:
    body = await ok(client, "patterns", TENANT_A_KEY, days=7)
    assert body["failed_runs"] == 8
    assert body["sampled"] is False
    upstream, locked = body["patterns"]
    assert (upstream["step"], upstream["template"], upstream["count"]) == (
        "respond",
        "upstream <*> from <url> after <*> ms",
        5,
    )
    assert upstream["new"] is True
    assert set(upstream["example_run_ids"]) <= set(failures[:5])
    assert (locked["step"], locked["template"], locked["count"]) == (
        "assign",
        "ticket <*> locked by <*>",
        3,
    )
    assert locked["new"] is False  # seen ten days before the range
    assert (await ok(client, "patterns", TENANT_A_KEY, days=7, lookback_days=0))["patterns"][1][
        "new"
    ] is False
    # Example runs open as logs.
    run = await client.get(
        f"/api/v1/logs/{upstream['example_run_ids'][0]}", headers=auth(TENANT_A_KEY)
    )
    assert run.status_code == 200


async def test_tenants_see_only_their_own_insights(
    client: httpx.AsyncClient,
    two_versions: dict[str, list[Any]],
    failures: list[str],
) -> None:
    b_versions = await ok(client, "versions", TENANT_B_KEY, days=3)
    # B's own: 30 runs of 9.9.9 and its one failure (of 1.0.0); none of A's 110 runs.
    assert [(v["version"], v["runs"]) for v in b_versions["versions"]] == [
        ("9.9.9", 30),
        ("1.0.0", 1),
    ]
    b_patterns = await ok(client, "patterns", TENANT_B_KEY, days=7)
    b_templates = {"disk full", "<no error text> (FAILED)"}
    assert {p["template"] for p in b_patterns["patterns"]} == b_templates
    assert {c for p in b_patterns["patterns"] for c in p["client_ids"]} == {TENANT_B}
    b_trends = await ok(client, "trends", TENANT_B_KEY, days=3)
    assert sum(c["runs"] for c in b_trends["categories"]) == 31  # 30 runs + 1 failure
    comparison = await get(client, "versions", TENANT_B_KEY, days=3, version="2.0.0")
    assert comparison.status_code == 422  # tenant B has no version before A's 2.0.0
    # Admin keys see every tenant, or one.
    everything = await ok(client, "versions", ADMIN_KEY, days=3)
    assert {v["version"] for v in everything["versions"]} == {"1.0.0", "2.0.0", "9.9.9"}
    only_b = await ok(client, "patterns", ADMIN_KEY, days=7, client_id=TENANT_B)
    assert {p["template"] for p in only_b["patterns"]} == b_templates
    all_patterns = await ok(client, "patterns", ADMIN_KEY, days=7)
    assert {c for p in all_patterns["patterns"] for c in p["client_ids"]} == {TENANT_A, TENANT_B}
    for path in ("versions", "trends", "anomalies", "patterns"):
        response = await get(client, path, TENANT_A_KEY, client_id=TENANT_B)
        assert response.status_code == 403, path


async def test_anomalies_of_another_tenant_are_invisible(
    client: httpx.AsyncClient, failure_spike: datetime
) -> None:
    assert (await ok(client, "anomalies", TENANT_B_KEY, days=1, min_runs=5))["anomalies"] == []
    admin = await ok(client, "anomalies", ADMIN_KEY, days=1, min_runs=5, client_id=TENANT_A)
    assert {a["client_id"] for a in admin["anomalies"]} == {TENANT_A}
    assert admin["anomalies"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("versions", {"days": 0}, "query.days"),
        ("versions", {"days": 2, "from": NOW.isoformat()}, "query.days"),
        ("versions", {"baseline": "1.0.0"}, "query.version"),
        ("versions", {"version": "1", "baseline": "1"}, "query.baseline"),
        ("versions", {"from": "2026-11-02T00:00:00"}, "query.from"),
        ("trends", {"from": NOW.isoformat(), "to": (NOW - timedelta(days=1)).isoformat()},
         "query.from"),
        ("trends", {"bogus": "1"}, "query.bogus"),
        ("anomalies", {"days": 32}, "query.days"),
        ("anomalies", {"kind": "vibes"}, "query.kind"),
        ("anomalies", {"min_runs": 1}, "query.min_runs"),
        ("anomalies", {"weeks": 9}, "query.weeks"),
        ("anomalies", {"from": (NOW - timedelta(days=40)).isoformat()}, "query.from"),
        ("patterns", {"limit": 0}, "query.limit"),
        ("patterns", {"lookback_days": 91}, "query.lookback_days"),
        ("patterns", {"category": ""}, "query.category"),
    ],
)  # fmt: skip
async def test_bad_parameters_are_422(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], field: str
) -> None:
    response = await get(client, path, TENANT_A_KEY, **params)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.text


async def test_no_key_is_401(client: httpx.AsyncClient) -> None:
    for path in ("versions", "trends", "anomalies", "patterns"):
        assert (await client.get(f"/api/v1/insights/{path}")).status_code == 401

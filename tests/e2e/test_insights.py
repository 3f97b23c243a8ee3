"""The Insights page in a real browser: versions compared, unusual hours, failure
patterns linking to their runs; figures equal to the API's."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.dashboard import sign_in

from .seed import ADMIN_KEY, TENANT_A_KEY

CLIENT = "tenant_insights"
ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture(scope="module")
def insights_client(base_url: str) -> str:
    """A client of its own (shipped by the admin key), so the other pages' counts of
    tenant_a and tenant_b stay as seeded: version 1.0 ran well two days ago, 2.0 fails
    half its runs since yesterday, each failure with an error text whose ids vary."""
    now = datetime.now(UTC)

    def run(version: str, i: int, hours_ago: float, failed: bool) -> dict[str, Any]:
        trace: list[dict[str, Any]] = [{"name": "classify", "status": "ok"}]
        if failed:
            trace.append(
                {
                    "name": "respond",
                    "status": "error",
                    "error": f"upstream 502 from https://crm.example/t/{1000 + i} after {i}ms",
                }
            )
        return {
            "environment": "production",
            "executed_at": (now - timedelta(hours=hours_ago, minutes=i)).isoformat(),
            "status": "FAILED" if failed else "SUCCESS",
            "workflow_version": version,
            "category": "billing_issue",
            "execution_time_seconds": 1.0 + i / 10,
            "payload": {"trace": trace},
        }

    logs = [run("1.0", i, 50, failed=i < 1) for i in range(40)]
    logs += [run("2.0", i, 20, failed=i % 2 == 0) for i in range(40)]
    with httpx.Client(base_url=base_url, timeout=30) as api:
        response = api.post(
            "/api/v1/logs/batch", params={"client_id": CLIENT}, json=logs, headers=ADMIN
        )
        response.raise_for_status()
        assert response.json()["rejected"] == 0
    return CLIENT


def test_insights_page_matches_the_api(page: Page, api: httpx.Client, insights_client: str) -> None:
    params = {"days": 7, "client_id": insights_client}
    versions = api.get("/api/v1/insights/versions", params=params, headers=ADMIN).json()
    patterns = api.get("/api/v1/insights/patterns", params=params, headers=ADMIN).json()
    anomalies = api.get("/api/v1/insights/anomalies", params=params, headers=ADMIN).json()
    assert [v["version"] for v in versions["versions"]] == ["1.0", "2.0"]

    sign_in(page, ADMIN_KEY, f"/insights?client={insights_client}")
    rows = page.get_by_test_id("version-row")
    expect(rows).to_have_count(2)
    for row, version in zip(rows.all(), versions["versions"], strict=True):
        expect(row).to_contain_text(version["version"])
        expect(row).to_contain_text(f"{version['success_rate'] * 100:.1f}%")

    page.get_by_test_id("compare-version").select_option("2.0")
    verdict = page.get_by_test_id("version-verdict")
    expect(verdict).to_contain_text("2.0 succeeds worse than 1.0")
    expect(verdict).to_contain_text("significant")

    if anomalies["anomalies"]:
        expect(page.get_by_test_id("anomaly")).to_have_count(len(anomalies["anomalies"]))
    else:
        expect(page.get_by_test_id("insights-anomalies")).to_contain_text("Nothing unusual")

    pattern_rows = page.get_by_test_id("pattern-row")
    expect(pattern_rows).to_have_count(len(patterns["patterns"]))
    first = pattern_rows.first
    expect(first).to_contain_text("upstream <*> from <url> after <*>")
    # 2.0's 20 failures and 1.0's one share the pattern.
    assert patterns["patterns"][0]["count"] == 21
    expect(first.locator("td.num")).to_have_text("21")
    expect(first).to_contain_text("1.0, 2.0")
    expect(first.get_by_test_id("pattern-new")).to_be_visible()
    first.get_by_test_id("pattern-run").first.click()
    expect(page).to_have_url(re.compile(rf"/logs/{patterns['patterns'][0]['example_run_ids'][0]}"))
    expect(page.get_by_test_id("trace-step-name").last).to_have_text("respond")


def test_a_tenant_sees_only_its_own_insights(
    page: Page, api: httpx.Client, insights_client: str
) -> None:
    own = api.get(
        "/api/v1/insights/versions", params={"days": 7}, headers={"X-API-Key": TENANT_A_KEY}
    ).json()
    expected = [v["version"] for v in own["versions"]]
    # The seed's versions (and its runs without one); none of tenant_insights' 1.0, 2.0.
    assert sorted(expected) == ["(none)", "1.4.0", "1.5.0"]
    sign_in(page, TENANT_A_KEY, "/insights")
    expect(page.get_by_test_id("version-row")).to_have_count(len(expected))
    versions = page.locator('[data-testid="version-row"] td:first-child').all_inner_texts()
    assert versions == expected
    expect(page.get_by_test_id("insights-patterns")).not_to_contain_text("upstream")

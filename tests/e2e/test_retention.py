"""The dashboard tells a client how long its logs and charts are kept, and says so where
a drill-down reaches back past the logs' retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
from playwright.sync_api import Page, expect

from tests.support.dashboard import get, sign_in, wait_rows

from .seed import ADMIN_KEY, TENANT_A_KEY


def test_a_tenant_sees_its_retention(page: Page, api: httpx.Client) -> None:
    policy = get(api, TENANT_A_KEY, "/api/v1/retention")
    sign_in(page, TENANT_A_KEY, "/logs")
    wait_rows(page)
    note = page.get_by_test_id("retention")
    expect(note).to_contain_text(f"kept {policy['logs_days']} days")
    expect(note).to_contain_text(f"charts {policy['rollup_days']} days")
    expect(page.get_by_test_id("retention-gone")).to_have_count(0)


def test_a_range_older_than_the_retention_says_the_logs_are_gone(
    page: Page, api: httpx.Client
) -> None:
    # Longer than the seed's week of logs: nothing is deleted by a retention run.
    admin = {"X-API-Key": ADMIN_KEY}
    api.put("/api/v1/admin/retention/tenant_b", json={"logs_days": 300}, headers=admin)
    try:
        long_ago = (datetime.now(UTC) - timedelta(days=400)).isoformat()
        sign_in(page, ADMIN_KEY, "/logs?" + urlencode({"client": "tenant_b", "from": long_ago}))
        wait_rows(page)
        expect(page.get_by_test_id("retention")).to_contain_text(
            "tenant_b's logs are kept 300 days"
        )
        gone = page.get_by_test_id("retention-gone")
        expect(gone).to_contain_text("300-day retention")
        expect(gone).to_contain_text("still count those runs")

        recent = (datetime.now(UTC) - timedelta(days=10)).isoformat()
        page.goto("/logs?" + urlencode({"client": "tenant_b", "from": recent}))
        wait_rows(page)
        expect(page.get_by_test_id("retention")).to_be_visible()
        expect(page.get_by_test_id("retention-gone")).to_have_count(0)
    finally:
        api.delete("/api/v1/admin/retention/tenant_b", headers=admin)

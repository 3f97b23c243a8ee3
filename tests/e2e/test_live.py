"""The Logs page's Live mode and Export, in Chromium against the real service: new runs
on top as they are stored, the filters applied, another tenant's never; pause and
resume with "N new runs"; a flood of runs rendered capped; Export downloads the
current filters' logs."""

from __future__ import annotations

import csv
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from .seed import TENANT_A_KEY, TENANT_B_KEY
from .test_dashboard import sign_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _log(**fields: Any) -> dict[str, Any]:
    return {
        "environment": "production",
        "executed_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
        "status": "SUCCESS",
        "execution_time_seconds": 1.2,
        **fields,
    }


def _ship(api: httpx.Client, key: str, logs: list[dict[str, Any]]) -> list[str]:
    response = api.post("/api/v1/logs/batch", json=logs, headers={"X-API-Key": key})
    response.raise_for_status()
    return [item["id"] for item in response.json()["items"]]


def _go_live(page: Page, category: str) -> None:
    sign_in(page, TENANT_A_KEY, f"/logs?category={category}")
    page.get_by_test_id("live-toggle").click()
    expect(page.get_by_test_id("live-status")).to_have_text("Live")


def test_live_mode_shows_new_matching_runs_on_top_and_pauses(page: Page, api: httpx.Client) -> None:
    run = f"live-{secrets.token_hex(3)}"
    _go_live(page, run)
    expect(page.get_by_text("Waiting for runs")).to_be_visible()

    first = _ship(api, TENANT_A_KEY, [_log(category=run, ticket_id="L-1")])
    _ship(api, TENANT_A_KEY, [_log(category="other-category")])  # filtered out
    _ship(api, TENANT_B_KEY, [_log(category=run)])  # another tenant's
    second = _ship(api, TENANT_A_KEY, [_log(category=run, ticket_id="L-2", status="FAILED")])
    rows = page.get_by_test_id("live-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-id", second[0])  # newest on top
    expect(rows.nth(1)).to_have_attribute("data-id", first[0])
    expect(rows.first).to_contain_text("FAILED")

    page.get_by_test_id("live-pause").click()
    expect(page.get_by_test_id("live-status")).to_have_text("Paused")
    held = _ship(api, TENANT_A_KEY, [_log(category=run, ticket_id=f"L-{i}") for i in (3, 4, 5)])
    expect(page.get_by_test_id("live-new")).to_have_text("3 new runs")
    expect(rows).to_have_count(2)
    page.get_by_test_id("live-new").click()
    expect(rows).to_have_count(5)
    expect(rows.first).to_have_attribute("data-id", held[-1])
    expect(page.get_by_test_id("live-status")).to_have_text("Live")

    # Leaving live mode goes back to the list, with the same filters.
    page.get_by_test_id("live-toggle").click()
    expect(page.get_by_test_id("log-row")).to_have_count(5)


def test_live_mode_keeps_up_with_a_flood_and_caps_what_it_renders(
    page: Page, api: httpx.Client
) -> None:
    run = f"flood-{secrets.token_hex(3)}"
    _go_live(page, run)
    # 3000 runs within a second or two: hundreds per second and more.
    for start in range(0, 3000, 500):
        _ship(
            api, TENANT_A_KEY, [_log(category=run, ticket_id=f"F-{start + i}") for i in range(500)]
        )
    rows = page.get_by_test_id("live-row")
    expect(page.get_by_test_id("live-count")).to_have_text("500 shown (at most 500)")
    expect(rows).to_have_count(500)
    expect(rows.first).to_contain_text("F-2999")
    # Still responsive: the controls answer at once.
    page.get_by_test_id("live-pause").click()
    expect(page.get_by_test_id("live-status")).to_have_text("Paused")
    page.get_by_test_id("live-pause").click()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "logs-live.png"))


def test_export_downloads_the_current_filters(page: Page, api: httpx.Client) -> None:
    run = f"export-{secrets.token_hex(3)}"
    ids = _ship(api, TENANT_A_KEY, [_log(category=run, ticket_id="=1+1") for _ in range(3)])
    _ship(api, TENANT_B_KEY, [_log(category=run)])
    sign_in(page, TENANT_A_KEY, f"/logs?category={run}")
    expect(page.get_by_test_id("log-row")).to_have_count(3)
    page.get_by_label("Export format").select_option("csv")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    path = download.path()
    with open(path, newline="") as file:
        lines = list(csv.DictReader(file))
    assert sorted(line["id"] for line in lines) == sorted(ids)
    assert {line["client_id"] for line in lines} == {"tenant_a"}
    assert {line["ticket_id"] for line in lines} == {"'=1+1"}

"""Search and pick-lists on the Logs page (issue 14), in Chromium: one search box finds
a ticket by its start in any case and a run by a word of its error; the filters'
pick-lists hold the values the tenant's logs use, and not another tenant's."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.dashboard import own_tenant_key, sign_in

from .seed import ADMIN_KEY


@pytest.fixture(scope="module")
def keys(base_url: str) -> tuple[str, str]:
    with httpx.Client(base_url=base_url, timeout=30) as api:
        return own_tenant_key(api, "e2e_search_a", admin_key=ADMIN_KEY), own_tenant_key(
            api, "e2e_search_b", admin_key=ADMIN_KEY
        )


def ship(api: httpx.Client, logs: list[dict[str, Any]], key: str) -> None:
    response = api.post("/api/v1/logs/batch", json=logs, headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 0, response.text


def a_log(ticket: str, minutes_ago: int, **more: Any) -> dict[str, Any]:
    return {
        "environment": "production",
        "executed_at": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
        "status": "SUCCESS",
        "ticket_id": ticket,
        **more,
    }


def rows_tickets(page: Page) -> list[str]:
    expect(page.locator("[aria-busy=true]")).to_have_count(0)
    return page.locator('[data-testid="log-row"] td[data-col="ticket_id"]').all_inner_texts()


def test_one_box_finds_tickets_by_prefix_and_runs_by_error_words(
    page: Page, api: httpx.Client, keys: tuple[str, str]
) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    word = f"quokka{tag.lower()}"
    ship(
        api,
        [
            a_log(f"SRCH-{tag}-1", 1),
            a_log(f"SRCH-{tag}-2", 2),
            a_log(
                f"OTHER-{tag}", 3, status="FAILED", payload={"error": f"The {word} service refused"}
            ),
        ],
        keys[0],
    )
    sign_in(page, keys[0], "/logs")
    box = page.get_by_test_id("search-input")
    box.fill(f"srch-{tag.lower()}")
    box.press("Enter")
    expect(page).to_have_url(re.compile(rf"q=srch-{tag.lower()}"))
    expect(page.get_by_test_id("log-row")).to_have_count(2)
    assert rows_tickets(page) == [f"SRCH-{tag}-1", f"SRCH-{tag}-2"]
    expect(page.get_by_test_id("logs-total")).to_have_text("2 matching runs")

    box.fill(f"{word.upper()} refused")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_test_id("log-row")).to_have_count(1)
    assert rows_tickets(page) == [f"OTHER-{tag}"]

    page.get_by_role("button", name="Clear search").click()
    expect(page).not_to_have_url(re.compile(r"q="))


def test_pick_lists_hold_the_tenants_own_values(
    page: Page, api: httpx.Client, keys: tuple[str, str]
) -> None:
    mine, theirs = f"cat-{uuid.uuid4().hex[:6]}", f"cat-{uuid.uuid4().hex[:6]}"
    ship(api, [a_log("PICK-A", 1, category=mine, status="ESCALATED")], keys[0])
    ship(api, [a_log("PICK-B", 1, category=theirs)], key=keys[1])
    sign_in(page, keys[0], "/logs")
    categories = page.get_by_test_id("values-category")
    expect(categories.locator(f'option[value="{mine}"]')).to_have_count(1)
    expect(categories.locator(f'option[value="{theirs}"]')).to_have_count(0)
    statuses = page.get_by_test_id("values-status")
    expect(statuses.locator('option[value="ESCALATED"]')).to_have_count(1)
    page.get_by_label("Category").fill(mine)
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(rf"category={mine}"))
    expect(page.get_by_test_id("log-row")).to_have_count(1)
    assert rows_tickets(page) == ["PICK-A"]

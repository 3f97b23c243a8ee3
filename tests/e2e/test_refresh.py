"""Auto-refresh of the Overview and Categories (off, 30 s, 1 min, 5 min), kept in the
URL. The page's clock is Playwright's, so minutes pass without waiting for them."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, Request, expect

from tests.support.dashboard import sign_in

from .conftest import PageFactory
from .seed import TENANT_A_KEY


def _counter(page: Page, path: str) -> list[str]:
    seen: list[str] = []

    def on_request(request: Request) -> None:
        if request.url.split("?")[0].endswith(path):
            seen.append(request.url)

    page.on("request", on_request)
    return seen


def _settle(seen: list[str]) -> int:
    """The count once no request has arrived for a moment (real time, not the page's)."""
    last, stable_since = len(seen), time.monotonic()
    while time.monotonic() - stable_since < 1.5:
        time.sleep(0.1)
        if len(seen) != last:
            last, stable_since = len(seen), time.monotonic()
    return last


def _grew(seen: list[str], than: int) -> int:
    """The count once it passed `than` (waiting up to 15 s of real time), for the
    refreshes that must happen; a slow machine delays them, never fakes them."""
    deadline = time.monotonic() + 15
    while len(seen) <= than and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(seen) > than, "no refresh was fetched"
    return _settle(seen)


def test_overview_refreshes_on_the_interval_in_its_url(make_page: PageFactory) -> None:
    page = make_page()
    page.clock.install()
    seen = _counter(page, "/api/v1/metrics/overview")
    sign_in(page, TENANT_A_KEY, "/?refresh=30s")
    expect(page.get_by_test_id("kpi-runs")).to_be_visible()
    expect(page.get_by_test_id("refresh-interval")).to_have_value("30s")
    before = _settle(seen)

    page.clock.run_for(31_000)
    after_one = _grew(seen, before)  # 30 s later the overview was fetched again
    page.clock.run_for(31_000)
    _grew(seen, after_one)

    page.get_by_test_id("refresh-interval").select_option("")  # Off
    expect(page).not_to_have_url(re.compile(r"refresh="))
    off = _settle(seen)
    page.clock.run_for(10 * 60_000)
    assert _settle(seen) == off, "no refresh once it is off"

    page.get_by_test_id("refresh-interval").select_option("5m")
    expect(page).to_have_url(re.compile(r"refresh=5m"))
    five = _settle(seen)
    page.clock.run_for(2 * 60_000)
    assert _settle(seen) == five, "not before five minutes"
    page.clock.run_for(3 * 60_000 + 1_000)
    _grew(seen, five)


def test_categories_refresh_and_the_range_keeps_the_interval(make_page: PageFactory) -> None:
    page = make_page()
    page.clock.install()
    seen = _counter(page, "/api/v1/metrics/categories")
    sign_in(page, TENANT_A_KEY, "/categories?refresh=1m")
    expect(page.get_by_test_id("categories-table")).to_be_visible()
    page.get_by_role("radio", name="30 d").click()
    expect(page).to_have_url(re.compile(r"range=30d"))
    expect(page).to_have_url(re.compile(r"refresh=1m"))
    before = _settle(seen)
    page.clock.run_for(61_000)
    _grew(seen, before)

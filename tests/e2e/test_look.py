"""Dark mode, phone widths and accessibility: axe-core (web/node_modules/axe-core, from
npm) injected into the real Chromium scans every page in both themes at desktop and
phone widths, and fails on any serious or critical violation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.support.dashboard import (
    AXE,
    horizontal_overflow,
    serious_violations,
    sign_in,
    wait_rows,
)

from .conftest import DESKTOP, PHONE, PageFactory
from .seed import ADMIN_KEY, TENANT_A_KEY, Seeded


def _overview(page: Page) -> None:
    expect(page.get_by_test_id("kpi-runs")).to_be_visible()
    expect(page.get_by_test_id("series-chart").locator("svg").first).to_be_visible()


def _detail(page: Page) -> None:
    expect(page.get_by_test_id("trace")).to_be_visible()
    page.get_by_test_id("trace-step").nth(1).get_by_role("button").first.click()  # JSON viewers
    expect(page.get_by_role("region", name="Step 2 classify: input")).to_be_visible()


def _visible(test_id: str) -> Callable[[Page], None]:
    return lambda page: expect(page.get_by_test_id(test_id)).to_be_visible()


def pages(seeded: Seeded) -> list[tuple[str, Callable[[Page], None]]]:
    return [
        ("/?range=30d", _overview),
        ("/logs", lambda page: wait_rows(page)),
        (f"/logs/{seeded.known_id}", _detail),
        ("/categories?range=30d", _visible("categories-table")),
        (
            "/keys",
            lambda page: expect(page.get_by_role("heading", name="API keys")).to_be_visible(),
        ),
        ("/audit", _visible("audit-table")),
        (f"/logs/{seeded.b_known_id}?client=tenant_a", _visible("error-state")),
        ("/logs/not-an-id", _visible("error-state")),
        ("/no/such/page", _visible("no-such-page")),
    ]


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_serious_accessibility_violations_on_any_page(
    make_page: PageFactory,
    seeded: Seeded,
    theme: Literal["light", "dark"],
    viewport: ViewportSize,
) -> None:
    assert AXE.is_file(), f"{AXE} is missing: run `make web-deps`"
    page = make_page(viewport=viewport, color_scheme=theme, init_script=AXE)
    found: dict[str, list[dict[str, Any]]] = {}

    page.goto("/signin")
    expect(page.get_by_label("API key")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    found["/signin"] = serious_violations(page)
    page.get_by_label("API key").fill("not a key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signin-message")).to_be_visible()
    found["/signin (refused)"] = serious_violations(page)

    sign_in(page, ADMIN_KEY)
    for path, ready in pages(seeded):
        page.goto(path)
        ready(page)
        found[path] = serious_violations(page)
    found = {path: v for path, v in found.items() if v}
    assert not found, json.dumps(found, indent=1)


def test_phone_width_never_scrolls_the_page_sideways(
    make_page: PageFactory, seeded: Seeded
) -> None:
    page = make_page(viewport=PHONE)
    sign_in(page, ADMIN_KEY)
    header = page.locator(".topbar").bounding_box()
    assert header is not None
    assert header["height"] <= 130, header
    for path, ready in pages(seeded):
        page.goto(path)
        ready(page)
        assert horizontal_overflow(page) <= 0, f"{path} scrolls sideways at 390 px"
    page.goto("/?range=custom")
    expect(page.get_by_label("From")).to_be_visible()
    assert horizontal_overflow(page) <= 0, "the custom range scrolls sideways at 390 px"


def test_the_log_filters_start_folded_on_a_phone(make_page: PageFactory) -> None:
    phone = make_page(viewport=PHONE)
    sign_in(phone, TENANT_A_KEY, "/logs")
    wait_rows(phone)
    box = phone.get_by_test_id("filters-box")
    expect(box).not_to_have_attribute("open", "")
    table = phone.get_by_test_id("logs-table").bounding_box()
    assert table is not None
    assert table["y"] < PHONE["height"], "rows start on the first screen"
    box.locator("summary").click()
    expect(phone.get_by_label("Status")).to_be_visible()

    desktop = make_page(viewport=DESKTOP)
    sign_in(desktop, TENANT_A_KEY, "/logs")
    expect(desktop.get_by_label("Status")).to_be_visible()


def _background(page: Page) -> list[int]:
    rgb: str = page.evaluate("() => getComputedStyle(document.documentElement).backgroundColor")
    return [int(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]


def test_dark_mode_follows_the_system_and_the_toggle(make_page: PageFactory) -> None:
    page = make_page(color_scheme="dark")
    sign_in(page, TENANT_A_KEY)
    html = page.locator("html")
    expect(html).to_have_attribute("data-theme", "dark")
    assert max(_background(page)) < 60, _background(page)

    page.get_by_test_id("theme-toggle").select_option("light")
    expect(html).to_have_attribute("data-theme", "light")
    assert min(_background(page)) > 200, _background(page)
    page.reload()  # the choice is remembered
    expect(html).to_have_attribute("data-theme", "light")
    expect(page.get_by_test_id("theme-toggle")).to_have_value("light")

    page.get_by_test_id("theme-toggle").select_option("system")
    expect(html).to_have_attribute("data-theme", "dark")
    page.emulate_media(color_scheme="light")  # the system changes its mind: followed live
    expect(html).to_have_attribute("data-theme", "light")

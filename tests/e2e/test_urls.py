"""Every view is a URL: the admin's client, range, filters and page survive a shared
link; sign-out forgets the previous user's place; drill-downs keep range and filters."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import httpx
from playwright.sync_api import Page, expect

from tests.support.dashboard import assert_overview_equals, count, get, query, sign_in, wait_rows

from .conftest import PageFactory
from .seed import ADMIN_KEY, TENANT_A_KEY


def test_the_admins_client_is_in_the_url_and_a_shared_link_opens_it(
    page: Page, make_page: PageFactory, api: httpx.Client
) -> None:
    sign_in(page, ADMIN_KEY, "/logs?page_size=25")
    wait_rows(page)
    page.get_by_test_id("client-picker").select_option("tenant_b")
    expect(page).to_have_url(re.compile(r"client=tenant_b"))
    only_b = get(api, ADMIN_KEY, "/api/v1/logs", page_size=25, client_id="tenant_b")
    expect(page.get_by_test_id("logs-total")).to_contain_text(count(only_b["total"]))

    # Filters and the next page keep the client.
    page.get_by_label("Status").fill("SUCCESS")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"status=SUCCESS"))
    assert query(page)["client"] == ["tenant_b"]
    wait_rows(page)
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_test_id("page-info")).to_contain_text("Page 2")
    assert query(page)["client"] == ["tenant_b"]
    shared = page.url

    # A colleague opens the link in a browser of their own: same client, filters, page.
    other = make_page()
    other.goto(shared)
    expect(other).to_have_url(re.compile(r"/signin"))
    other.get_by_label("API key").fill(ADMIN_KEY)
    other.get_by_role("button", name="Sign in").click()
    expect(other.get_by_test_id("page-info")).to_contain_text("Page 2")
    expect(other.get_by_test_id("client-picker")).to_have_value("tenant_b")
    assert query(other) == query(page)
    wait_rows(other)
    assert all(
        t.startswith("B-") for t in other.locator('td[data-col="ticket_id"]').all_inner_texts()
    )

    # The navigation carries the client to every page.
    other.get_by_role("link", name="Overview").click()
    expect(other).to_have_url(re.compile(r"/\?client=tenant_b$"))
    assert_overview_equals(
        other, get(api, ADMIN_KEY, "/api/v1/metrics/overview", days=7, client_id="tenant_b")
    )
    other.get_by_role("link", name="Categories", exact=True).click()
    expect(other).to_have_url(re.compile(r"/categories\?client=tenant_b$"))
    expect(other.get_by_test_id("categories-table")).to_contain_text("b_only_category")

    # Choosing "All clients" takes the client out of the URL.
    other.get_by_test_id("client-picker").select_option("")
    expect(other).not_to_have_url(re.compile(r"client="))


def test_a_tenant_key_ignores_a_client_in_the_url(page: Page, api: httpx.Client) -> None:
    sign_in(page, TENANT_A_KEY, "/?client=tenant_b")
    assert_overview_equals(page, get(api, TENANT_A_KEY, "/api/v1/metrics/overview", days=7))


def test_sign_out_forgets_the_previous_users_place(page: Page) -> None:
    sign_in(page, ADMIN_KEY, "/logs?status=FAILURE&client=tenant_b")
    wait_rows(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.get_by_label("API key").fill(TENANT_A_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    assert urlparse(page.url).path == "/"
    assert urlparse(page.url).query == ""
    expect(page.get_by_test_id("identity")).to_have_text("tenant_a")


def test_categories_to_logs_keeps_range_and_environment(page: Page, api: httpx.Client) -> None:
    sign_in(page, TENANT_A_KEY, "/categories?range=30d&environment=staging")
    data = get(api, TENANT_A_KEY, "/api/v1/metrics/categories", days=30, environment="staging")
    linkable = [c for c in data["categories"] if c["category"] != "uncategorized"]
    assert linkable, "the seed has staging runs with a category"
    target = linkable[0]
    row = page.get_by_test_id("category-row").filter(
        has=page.get_by_role("link", name=target["category"], exact=True)
    )
    expect(row.locator("td").nth(1)).to_have_text(count(target["runs"]))
    row.get_by_role("link", name=target["category"], exact=True).click()

    expect(page).to_have_url(re.compile(r"/logs\?"))
    params = query(page)
    assert params["category"] == [target["category"]]
    assert params["environment"] == ["staging"]
    assert "from" in params
    assert "to" in params
    wait_rows(page)
    # The same runs the Categories page counted, not every run of that category.
    expect(page.get_by_test_id("logs-total")).to_have_text(
        re.compile(rf"^{re.escape(count(target['runs']))} matching run")
    )
    every_env = get(api, TENANT_A_KEY, "/api/v1/logs", category=target["category"])
    assert every_env["total"] > target["runs"], "the test tells the two apart"


def test_overview_drill_downs_keep_the_environment(page: Page, api: httpx.Client) -> None:
    sign_in(page, TENANT_A_KEY, "/?range=30d&environment=staging")
    overview = get(api, TENANT_A_KEY, "/api/v1/metrics/overview", days=30, environment="staging")
    failed = next(s for s in overview["by_status"] if s["status"] == "FAILURE")
    page.get_by_test_id("by-status").get_by_role("link", name="FAILURE").click()
    params = query(page)
    assert params["status"] == ["FAILURE"]
    assert params["environment"] == ["staging"]
    wait_rows(page)
    expect(page.get_by_test_id("logs-total")).to_have_text(
        re.compile(rf"^{re.escape(count(failed['runs']))} matching run")
    )
    page.go_back()
    page.get_by_role("link", name="Categories of this range").click()
    assert query(page)["range"] == ["30d"]
    assert query(page)["environment"] == ["staging"]

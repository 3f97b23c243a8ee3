"""The dashboard in a real browser against the real service (see conftest.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.support.dashboard import (
    assert_overview_equals,
    column,
    count,
    get,
    percent,
    query,
    sign_in,
    wait_rows,
)

from .seed import ADMIN_KEY, KNOWN_TRACE, TENANT_A_KEY, TENANT_B_KEY, Seeded

# -- sign-in -----------------------------------------------------------------


def test_sign_in_and_sign_out(page: Page) -> None:
    sign_in(page, TENANT_A_KEY)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_test_id("identity")).to_have_text("tenant_a")
    assert page.evaluate("Object.values(sessionStorage)").count(TENANT_A_KEY) == 1

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin"))
    expect(page.get_by_label("API key")).to_be_visible()
    assert TENANT_A_KEY not in page.evaluate("Object.values(sessionStorage)")
    page.goto("/logs")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Flogs"))


def test_sign_in_returns_to_the_requested_page(page: Page) -> None:
    page.goto("/logs?status=FAILURE")
    expect(page).to_have_url(re.compile(r"/signin"))
    page.get_by_label("API key").fill(TENANT_A_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Logs")).to_be_visible()
    assert query(page)["status"] == ["FAILURE"]


def test_bad_key_lands_on_sign_in_with_a_message(page: Page, api: httpx.Client) -> None:
    detail = api.get("/api/v1/me", headers={"X-API-Key": "wrong"}).json()["detail"]
    page.goto("/signin")
    page.get_by_label("API key").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signin-message")).to_contain_text(detail)
    expect(page).to_have_url(re.compile(r"/signin"))

    # A key that stops working mid-session (revoked, expired) sends the user back too.
    sign_in(page, TENANT_A_KEY)
    page.evaluate(
        "for (const k of Object.keys(sessionStorage))"
        " if (sessionStorage.getItem(k) === 'e2e_key_a') sessionStorage.setItem(k, 'revoked')"
    )
    page.goto("/logs")
    expect(page).to_have_url(re.compile(r"/signin"))
    expect(page.get_by_test_id("signin-message")).to_contain_text(detail)


def test_a_tenant_never_sees_the_client_picker(page: Page) -> None:
    sign_in(page, TENANT_A_KEY)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_test_id("client-picker")).to_have_count(0)


# -- overview ----------------------------------------------------------------


def test_overview_figures_equal_the_api(page: Page, api: httpx.Client, seeded: Seeded) -> None:
    sign_in(page, TENANT_A_KEY)
    week = get(api, TENANT_A_KEY, "/api/v1/metrics/overview", days=7)
    assert week["total_runs"] == seeded.tenant_a_count  # the seed landed where we think
    assert_overview_equals(page, week)
    expect(page.get_by_test_id("series-chart")).to_be_visible()

    page.get_by_role("radio", name="24 h").click()
    expect(page).to_have_url(re.compile(r"range=24h"))
    assert_overview_equals(page, get(api, TENANT_A_KEY, "/api/v1/metrics/overview", days=1))

    page.get_by_role("radio", name="30 d").click()
    page.get_by_test_id("environment-filter").select_option("staging")
    expect(page).to_have_url(re.compile(r"environment=staging"))
    assert_overview_equals(
        page, get(api, TENANT_A_KEY, "/api/v1/metrics/overview", days=30, environment="staging")
    )

    page.reload()  # the range lives in the URL
    assert_overview_equals(
        page, get(api, TENANT_A_KEY, "/api/v1/metrics/overview", days=30, environment="staging")
    )


def test_overview_custom_range(page: Page, api: httpx.Client) -> None:
    sign_in(page, TENANT_A_KEY)
    page.get_by_role("radio", name="Custom").click()
    expect(page).to_have_url(re.compile(r"range=custom"))
    start = datetime.now() - timedelta(days=3)
    page.get_by_label("From").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"from=\d{4}-"))
    params = query(page)
    expected = get(
        api,
        TENANT_A_KEY,
        "/api/v1/metrics/overview",
        **{"from": params["from"][0], "to": params["to"][0]},
    )
    assert expected["total_runs"] > 0
    assert_overview_equals(page, expected)


# -- logs --------------------------------------------------------------------


def test_filtering_by_status_and_category(page: Page, api: httpx.Client) -> None:
    sign_in(page, TENANT_A_KEY, "/logs")
    wait_rows(page)

    page.get_by_label("Status").fill("FAILURE")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"status=FAILURE"))
    wait_rows(page)
    expected = get(api, TENANT_A_KEY, "/api/v1/logs", status="FAILURE")
    expect(page.get_by_test_id("log-row")).to_have_count(len(expected["items"]))
    assert set(column(page, "status")) == {"FAILURE"}

    page.get_by_label("Category").fill("billing_issue")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"category=billing_issue"))
    assert query(page)["status"] == ["FAILURE"]
    wait_rows(page)
    expected = get(api, TENANT_A_KEY, "/api/v1/logs", status="FAILURE", category="billing_issue")
    assert expected["items"], "the seed has failed billing runs"
    expect(page.get_by_test_id("log-row")).to_have_count(len(expected["items"]))
    assert set(column(page, "status")) == {"FAILURE"}
    assert set(column(page, "category")) == {"billing_issue"}
    assert column(page, "ticket_id") == [i["ticket_id"] or "—" for i in expected["items"]]

    page.reload()  # filters survive a reload and can be shared
    wait_rows(page)
    expect(page.get_by_label("Category")).to_have_value("billing_issue")
    expect(page.get_by_test_id("log-row")).to_have_count(len(expected["items"]))

    page.get_by_role("button", name="Clear").click()
    expect(page).not_to_have_url(re.compile(r"status="))


def test_paging_past_the_first_page(page: Page, api: httpx.Client) -> None:
    sign_in(page, TENANT_A_KEY, "/logs?page_size=25")
    wait_rows(page)
    first = get(api, TENANT_A_KEY, "/api/v1/logs", page_size=25)
    second = get(api, TENANT_A_KEY, "/api/v1/logs", page_size=25, cursor=first["next_cursor"])

    def ids() -> list[str]:
        found: list[str] = page.get_by_test_id("log-row").evaluate_all(
            "rows => rows.map(r => r.dataset.id)"
        )
        return found

    assert ids() == [i["id"] for i in first["items"]]
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()

    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_test_id("page-info")).to_contain_text("Page 2")
    assert query(page)["after"] == [first["next_cursor"]]
    wait_rows(page)
    assert ids() == [i["id"] for i in second["items"]]

    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_test_id("page-info")).to_contain_text("Page 3")
    assert len(query(page)["after"]) == 2
    page.reload()
    expect(page.get_by_test_id("page-info")).to_contain_text("Page 3")

    page.get_by_role("button", name="Previous page").click()
    expect(page.get_by_test_id("page-info")).to_contain_text("Page 2")
    wait_rows(page)
    assert ids() == [i["id"] for i in second["items"]]
    page.get_by_role("button", name="Previous page").click()
    expect(page.get_by_test_id("page-info")).to_contain_text("Page 1")
    wait_rows(page)
    assert ids() == [i["id"] for i in first["items"]]


def test_a_row_opens_its_detail_with_the_keyboard(page: Page, seeded: Seeded) -> None:
    sign_in(page, TENANT_A_KEY, "/logs?ticket_id=A-KNOWN")
    wait_rows(page)
    link = page.locator(f'[data-testid="log-row"][data-id="{seeded.known_id}"] a').first
    link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/logs/{seeded.known_id}$"))
    expect(page.get_by_test_id("trace")).to_be_visible()


# -- detail ------------------------------------------------------------------


def test_detail_shows_every_trace_step(page: Page, seeded: Seeded) -> None:
    sign_in(page, TENANT_A_KEY, f"/logs/{seeded.known_id}")
    steps = page.get_by_test_id("trace-step")
    expect(steps).to_have_count(len(KNOWN_TRACE))
    names = [str(s.get("name") or s.get("step")) for s in KNOWN_TRACE]
    expect(page.get_by_test_id("trace-step-name")).to_have_text(names)
    expect(page.get_by_test_id("trace-step-duration")).to_have_text(
        ["400 ms", "1.20 s", "650 ms", "2.30 s", "250 ms"]
    )
    # Share of the 5 s run.
    expect(steps.nth(1).locator(".step-share")).to_have_text("24.0%")

    steps.nth(1).get_by_role("button").first.click()
    expect(steps.nth(1)).to_contain_text("I was charged twice")
    expect(steps.nth(1)).to_contain_text("0.97")

    expect(page.get_by_role("region", name="Metrics")).to_contain_text("1234")
    expect(page.get_by_role("region", name="Payload")).to_contain_text("gold")
    page.get_by_test_id("ticket-link").click()
    expect(page).to_have_url(re.compile(r"/logs\?ticket_id=A-KNOWN$"))
    wait_rows(page)
    expect(page.get_by_test_id("log-row")).to_have_count(2)


def test_detail_renders_odd_or_missing_traces(page: Page, seeded: Seeded) -> None:
    sign_in(page, TENANT_A_KEY, f"/logs/{seeded.malformed_id}")
    expect(page.get_by_test_id("trace-problem")).to_be_visible()
    expect(page.get_by_role("region", name="Payload")).to_contain_text("not a list of steps")
    page.goto(f"/logs/{seeded.no_trace_id}")
    expect(page.get_by_test_id("trace-absent")).to_be_visible()
    expect(page.get_by_test_id("facts")).to_contain_text("A-NOTRACE")


# -- tenancy -----------------------------------------------------------------


def test_a_tenant_never_sees_another_tenants_rows(
    page: Page, api: httpx.Client, seeded: Seeded
) -> None:
    sign_in(page, TENANT_A_KEY, "/logs?page_size=200")
    wait_rows(page)
    tickets = column(page, "ticket_id")
    assert len(tickets) == min(200, seeded.tenant_a_count)
    assert all(t.startswith("A-") for t in tickets), tickets
    page.goto("/logs?ticket_id=B-KNOWN")
    expect(page.get_by_text("No runs match these filters")).to_be_visible()
    page.goto(f"/logs/{seeded.b_known_id}")
    expect(page.get_by_role("alert")).to_contain_text("Not found")
    page.goto("/categories?range=30d")
    expect(page.get_by_test_id("categories-table")).to_be_visible()
    assert "b_only_category" not in page.get_by_test_id("categories-table").inner_text()

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, TENANT_B_KEY, "/logs?page_size=200")
    wait_rows(page)
    tickets = column(page, "ticket_id")
    assert len(tickets) == get(api, TENANT_B_KEY, "/api/v1/logs", page_size=200)["total"]
    assert all(t.startswith("B-") for t in tickets), tickets


def test_the_admin_picker_narrows_to_one_client(page: Page, api: httpx.Client) -> None:
    sign_in(page, ADMIN_KEY, "/logs?page_size=200")
    picker = page.get_by_test_id("client-picker")
    expect(picker).to_be_visible()
    expect(picker.locator("option")).to_contain_text(["All clients", "tenant_a", "tenant_b"])
    wait_rows(page)
    everyone = get(api, ADMIN_KEY, "/api/v1/logs", page_size=200)
    expect(page.get_by_test_id("logs-total")).to_contain_text(count(everyone["total"]))
    assert {t[:2] for t in column(page, "ticket_id")} >= {"A-", "B-"}

    picker.select_option("tenant_b")
    only_b = get(api, ADMIN_KEY, "/api/v1/logs", page_size=200, client_id="tenant_b")
    expect(page.get_by_test_id("logs-total")).to_contain_text(count(only_b["total"]))
    wait_rows(page)
    expect(page.get_by_test_id("log-row")).to_have_count(len(only_b["items"]))
    assert all(t.startswith("B-") for t in column(page, "ticket_id"))

    page.get_by_role("link", name="Overview").click()
    assert_overview_equals(
        page, get(api, ADMIN_KEY, "/api/v1/metrics/overview", days=7, client_id="tenant_b")
    )

    picker.select_option("")
    assert_overview_equals(page, get(api, ADMIN_KEY, "/api/v1/metrics/overview", days=7))


# -- categories --------------------------------------------------------------


def test_categories_table_and_link_to_logs(page: Page, api: httpx.Client) -> None:
    sign_in(page, TENANT_A_KEY, "/categories")
    data = get(api, TENANT_A_KEY, "/api/v1/metrics/categories", days=7)
    rows = page.get_by_test_id("category-row")
    expect(rows).to_have_count(len(data["categories"]))
    for row, item in zip(rows.all(), data["categories"], strict=True):
        cells = row.locator("td")
        expect(cells.nth(0)).to_have_text(item["category"])
        expect(cells.nth(1)).to_have_text(count(item["runs"]))
        expect(cells.nth(3)).to_have_text(percent(item["success_rate"]))
    expect(page.get_by_test_id("categories-chart")).to_be_visible()
    # Runs without a category are reported as "uncategorized", which the logs API cannot filter on.
    uncategorized = rows.filter(has_text="uncategorized")
    expect(uncategorized).to_have_count(1)
    expect(uncategorized.get_by_role("link")).to_have_count(0)

    page.get_by_test_id("category-link").filter(has_text="login_problem").click()
    # The Logs page opens on the category within the range the Categories page counted.
    expect(page).to_have_url(re.compile(r"/logs\?category=login_problem&from=[^&]+&to=[^&]+$"))
    wait_rows(page)
    assert set(column(page, "category")) == {"login_problem"}
    login = next(c for c in data["categories"] if c["category"] == "login_problem")
    expect(page.get_by_test_id("logs-total")).to_have_text(
        re.compile(rf"^{re.escape(count(login['runs']))} matching run")
    )

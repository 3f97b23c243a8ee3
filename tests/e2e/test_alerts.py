"""The Alerts page in a real browser: a tenant makes a rule (a bad one is refused naming
its field), the evaluator runs as `central-logger alerts run --once`, the firing alert
shows and links to the runs behind it; silence and delete; another tenant sees none of
it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.support.dashboard import AXE, horizontal_overflow, serious_violations, sign_in, wait_rows

from .conftest import DESKTOP, PHONE, PageFactory
from .seed import ADMIN_API_KEYS, ADMIN_KEY, API_KEYS, TENANT_A_KEY, TENANT_B_KEY
from .service import service_env

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"


def _evaluate_once(database_url: str) -> str:
    cli = Path(sys.executable).parent / "central-logger"
    result = subprocess.run(
        [str(cli), "alerts", "run", "--once"],
        env=service_env(database_url, API_KEYS, ADMIN_API_KEYS),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_tenant_makes_a_rule_sees_it_fire_and_follows_it_to_the_runs(
    page: Page, api: httpx.Client, e2e_database_url: str
) -> None:
    channel = api.post(
        "/api/v1/alerts/channels",
        json={"name": "ops hook", "kind": "webhook", "url": "https://hooks.example.com/ops"},
        headers={"X-API-Key": TENANT_A_KEY},
    )
    assert channel.status_code == 201, channel.text
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, TENANT_A_KEY, "/alerts")
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    expect(page.get_by_test_id("channels-table")).to_contain_text("ops hook")

    # A bad rule: the form shows the service's reason, naming the field.
    page.get_by_role("button", name="New rule").click()
    form = page.get_by_role("form", name="New rule")
    form.get_by_label("Name").fill("e2e failures")
    form.get_by_label("Threshold (% of runs)").fill("150")
    form.get_by_role("button", name="Create rule").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text("threshold")

    form.get_by_label("Kind").select_option("count")
    form.get_by_label("Threshold (runs)").fill("0")
    form.get_by_label("Status (empty: every run)").fill("FAILURE")
    form.get_by_label("Window (minutes)").fill("10080")
    form.get_by_label("ops hook (webhook)").check()
    form.get_by_role("button", name="Create rule").click()
    rule_row = page.locator('[data-testid="rule-row"][data-rule="e2e failures"]')
    expect(rule_row).to_contain_text("FAILURE runs > 0")
    expect(rule_row).to_contain_text("7 d")

    output = _evaluate_once(e2e_database_url)
    assert re.search(r"[1-9]\d* state changes", output), output
    page.reload()
    firing = page.locator('[data-testid="firing-row"][data-state="firing"]')
    expect(firing.filter(has_text="e2e failures")).to_have_count(1)
    expect(page.get_by_test_id("events-table")).to_contain_text("ok → firing")
    expect(page.get_by_test_id("deliveries-table")).to_contain_text("firing")
    # hooks.example.com does not resolve here: retried, not given up at once.
    expect(page.get_by_test_id("deliveries-table")).to_contain_text("cannot resolve")
    if os.environ.get("E2E_SCREENSHOTS"):  # docs/screenshots/alerts.png
        page.screenshot(path=str(SCREENSHOTS / "alerts.png"), full_page=True)

    # Silence, then follow the alert to its runs.
    rule_row.get_by_role("button", name="Silence 1 h").click()
    expect(rule_row.get_by_role("button", name="Unsilence")).to_be_visible()
    firing.filter(has_text="e2e failures").get_by_test_id("firing-logs-link").click()
    expect(page).to_have_url(re.compile(r"/logs\?.*status=FAILURE"))
    wait_rows(page)
    statuses = page.locator('[data-testid="log-row"] td[data-col="status"]').all_inner_texts()
    assert statuses
    assert {s.strip() for s in statuses} == {"FAILURE"}

    # Another tenant sees none of it.
    other = page.context.browser.new_context(base_url=page.url.split("/logs")[0])  # type: ignore[union-attr]
    try:
        b = other.new_page()
        sign_in(b, TENANT_B_KEY, "/alerts")
        expect(b.get_by_text("No rules yet")).to_be_visible()
        expect(b.get_by_test_id("rule-row")).to_have_count(0)
        expect(b.get_by_text("Nothing is firing")).to_be_visible()
    finally:
        other.close()

    page.goto("/alerts")
    page.locator('[data-testid="rule-row"][data-rule="e2e failures"]').get_by_role(
        "button", name="Delete"
    ).click()
    expect(page.locator('[data-testid="rule-row"][data-rule="e2e failures"]')).to_have_count(0)


@pytest.mark.parametrize(
    ("viewport", "theme"),
    [(DESKTOP, "dark"), (PHONE, "light")],
    ids=["desktop-dark", "phone-light"],
)
def test_the_alerts_page_is_accessible_and_fits_a_phone(
    make_page: PageFactory, api: httpx.Client, viewport: ViewportSize, theme: str
) -> None:
    admin = {"X-API-Key": ADMIN_KEY}
    made = api.post(
        "/api/v1/alerts/rules",
        json={"name": f"a11y {theme}", "kind": "latency", "threshold": 30, "group_by": "category"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    try:
        page = make_page(viewport=viewport, color_scheme=theme, init_script=AXE)  # type: ignore[arg-type]
        sign_in(page, ADMIN_KEY, "/alerts")
        expect(page.get_by_test_id("rules-table")).to_be_visible()
        assert serious_violations(page) == []
        page.get_by_role("button", name="New rule").click()
        expect(page.get_by_role("form", name="New rule")).to_be_visible()
        assert serious_violations(page) == []
        assert horizontal_overflow(page) <= 0, "/alerts scrolls sideways"
    finally:
        api.delete(f"/api/v1/alerts/rules/{made.json()['id']}", headers=admin)

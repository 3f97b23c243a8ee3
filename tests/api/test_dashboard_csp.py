"""The built dashboard, in a real browser, under the service's Content-Security-Policy:
every page renders and the browser reports no violation."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central_logger.http.dashboard import dashboard_is_built
from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.factories import a_log
from tests.support.live import LiveServer
from tests.support.requirements import requirement
from tests.support.tenants import TENANT_A_KEY, auth

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")

pytestmark = [
    requirement(not dashboard_is_built(), "the dashboard is not built: run `make web-build`"),
    requirement(not Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: run `make chromium`"),
]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture
def live(settings: Settings, empty_database: str) -> Iterator[str]:
    app = create_app(Settings(_env_file=None, **settings.model_dump()), migrate=False)
    with LiveServer(app) as server:
        yield server.url


def test_every_page_renders_without_a_csp_violation(live: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    log_id = httpx.post(f"{live}/api/v1/logs", json=a_log(), headers=auth(TENANT_A_KEY)).json()[
        "id"
    ]
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(base_url=live)
            page.add_init_script(RECORD_VIOLATIONS)
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.goto("/")
            expect(page).to_have_url(re.compile(r"/signin"))
            page.get_by_label("API key").fill(TENANT_A_KEY)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
            violations: list[str] = []
            for path in ("/", "/logs", f"/logs/{log_id}", "/categories"):
                page.goto(path)
                page.wait_for_load_state("networkidle")
                expect(page.get_by_role("button", name="Sign out")).to_be_visible()
                violations += page.evaluate("window.__csp")
        finally:
            browser.close()
    assert violations == []
    assert [line for line in console if "Content Security Policy" in line] == []
    assert [line for line in console if line.startswith("pageerror")] == []

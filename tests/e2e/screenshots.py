"""Screenshots of every dashboard page with demo data, into docs/screenshots/: light
and dark (`-dark`), desktop and phone width (`phone-`).

    .venv/bin/python -m tests.e2e.screenshots --database-url postgresql://postgres@127.0.0.1:5432/shots

The database should be empty and reachable; the service migrates it at start. The
script starts the service, fills it with `central-logger demo` plus the known runs
of the browser tests, and drives Chromium through each page as an admin.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from .seed import ADMIN_API_KEYS, ADMIN_KEY, API_KEYS, Seeded, seed
from .service import CHROMIUM, CHROMIUM_ARGS, ROOT, running_service, service_env

OUT = ROOT / "docs" / "screenshots"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        required="DATABASE_URL" not in os.environ,
    )
    parser.add_argument("--logs-per-client", type=int, default=3000)
    args = parser.parse_args()
    env = service_env(args.database_url, API_KEYS, ADMIN_API_KEYS)
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_service(env, Path(tmp) / "service.log") as url,
    ):
        cli = Path(sys.executable).parent / "central-logger"
        subprocess.run(
            [str(cli), "demo", "--logs-per-client", str(args.logs_per_client), "--days", "30"],
            env=env,
            cwd=ROOT,
            check=True,
        )
        known = seed(url)
        _some_keys(url)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            shots: list[Path] = []
            for theme in ("light", "dark"):
                for width, height, prefix in ((1360, 900, ""), (390, 844, "phone-")):
                    context = browser.new_context(
                        base_url=url,
                        viewport={"width": width, "height": height},
                        timezone_id="Europe/Paris",
                        color_scheme=theme,
                    )
                    page = context.new_page()
                    suffix = "" if theme == "light" else "-dark"
                    shots += _pages(page, known, prefix=prefix, suffix=suffix)
                    context.close()
            browser.close()
    for shot in shots:
        print(shot)


def _some_keys(url: str) -> None:
    """A few stored keys, one rotated and one revoked, so the Keys page has a story."""
    admin = {"X-API-Key": ADMIN_KEY}
    with httpx.Client(base_url=url, headers=admin, timeout=30) as api:
        made = [
            api.post("/api/v1/admin/keys", json=spec).json()
            for spec in (
                {"client_id": "acme", "name": "triage workflow", "scopes": ["ingest"]},
                {"client_id": "acme", "name": "ops dashboard", "scopes": ["read"]},
                {"client_id": "globex", "name": "returns desk"},
                {"client_id": "initech", "name": "old laptop", "expires_in_days": 30},
            )
        ]
        api.post(f"/api/v1/admin/keys/{made[2]['prefix']}/rotate", json={"overlap_seconds": 86400})
        api.delete(f"/api/v1/admin/keys/{made[3]['prefix']}")
        # One use, so "last used" shows a time.
        api.get("/api/v1/me", headers={"X-API-Key": made[1]["key"]})


def _pages(page: Page, known: Seeded, *, prefix: str, suffix: str) -> list[Path]:
    """Every page of the dashboard as an admin, into OUT as {prefix}{page}{suffix}.png."""
    done: list[Path] = []

    def shot(name: str) -> None:
        path = OUT / f"{prefix}{name}{suffix}.png"
        page.screenshot(path=str(path), full_page=True)
        done.append(path)

    page.goto("/signin")
    page.get_by_label("API key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("kpi-runs").wait_for()
    page.get_by_test_id("series-chart").locator("svg").first.wait_for()
    page.wait_for_timeout(800)
    shot("overview")

    page.goto("/logs?page_size=25")
    page.get_by_test_id("logs-table").wait_for()
    shot("logs")

    page.goto(f"/logs/{known.known_id}")
    page.get_by_test_id("trace").wait_for()
    page.get_by_test_id("trace-step").nth(1).get_by_role("button").first.click()
    page.wait_for_timeout(300)
    shot("log-detail")

    page.goto("/categories?range=30d")
    page.get_by_test_id("categories-chart").locator("svg").first.wait_for()
    page.wait_for_timeout(800)
    shot("categories")

    page.goto("/insights")
    page.get_by_test_id("insights-versions").wait_for()
    page.wait_for_timeout(800)
    shot("insights")

    page.goto("/keys")
    page.get_by_role("heading", name="API keys").wait_for()
    page.wait_for_timeout(300)
    shot("keys")

    page.goto("/audit")
    page.get_by_test_id("audit-table").wait_for()
    shot("audit")
    return done


if __name__ == "__main__":
    main()

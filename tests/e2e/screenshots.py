"""Screenshots of every dashboard page with demo data, into docs/screenshots/.

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

from playwright.sync_api import sync_playwright

from .seed import ADMIN_API_KEYS, ADMIN_KEY, API_KEYS, seed
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
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(
                base_url=url,
                viewport={"width": 1360, "height": 900},
                timezone_id="Europe/Paris",
            )
            page = context.new_page()
            page.goto("/signin")
            page.get_by_label("API key").fill(ADMIN_KEY)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_test_id("kpi-runs").wait_for()
            page.get_by_test_id("series-chart").locator("svg").first.wait_for()
            page.wait_for_timeout(800)
            page.screenshot(path=str(OUT / "overview.png"), full_page=True)

            page.goto("/logs?page_size=25")
            page.get_by_test_id("logs-table").wait_for()
            page.screenshot(path=str(OUT / "logs.png"), full_page=True)

            page.goto(f"/logs/{known.known_id}")
            page.get_by_test_id("trace").wait_for()
            page.get_by_test_id("trace-step").nth(1).get_by_role("button").first.click()
            page.wait_for_timeout(300)
            page.screenshot(path=str(OUT / "log-detail.png"), full_page=True)

            page.goto("/categories?range=30d")
            page.get_by_test_id("categories-chart").locator("svg").first.wait_for()
            page.wait_for_timeout(800)
            page.screenshot(path=str(OUT / "categories.png"), full_page=True)
            browser.close()
    for name in ("overview", "logs", "log-detail", "categories"):
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()

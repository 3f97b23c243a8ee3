"""How the Logs page behaves on a big table: time until rows show, per page, in Chromium.

    .venv/bin/python -m tests.e2e.measure_logs --base-url http://127.0.0.1:8000 --key KEY

Prints, for the first page, each "Next" click (cursor paging, --pause seconds apart), a
filtered view and a reload deep into the pages, the time measured inside the page from
the action until the new rows are painted, plus the API's own time for the same requests.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from playwright.sync_api import sync_playwright

from .service import CHROMIUM, CHROMIUM_ARGS

NEXT_JS = """async () => {
  const firstId = () => document.querySelector('[data-testid=log-row]')?.dataset.id ?? null;
  const prev = firstId();
  const button = document.querySelector('button[aria-label="Next page"]');
  const t0 = performance.now();
  button.click();
  await new Promise(resolve => {
    const busy = () => document.querySelector('[aria-busy=true]');
    const done = () => firstId() && firstId() !== prev && !busy();
    const check = () => (done() ? resolve() : requestAnimationFrame(check));
    check();
  });
  return (performance.now() - t0) / 1000;
}"""

# Seconds from the start of the navigation until rows are painted.
SINCE_NAVIGATION_JS = """async () => {
  await new Promise(resolve => {
    const done = () => document.querySelector('[data-testid=log-row]');
    const check = () => (done() ? resolve() : requestAnimationFrame(check));
    check();
  });
  return performance.now() / 1000;
}"""


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between Next clicks")
    parser.add_argument("--filter", default="category=billing_issue")
    args = parser.parse_args()

    headers = {"X-API-Key": args.key}
    with httpx.Client(base_url=args.base_url, headers=headers, timeout=60) as api:
        t = time.perf_counter()
        body = api.get("/api/v1/logs").raise_for_status().json()
        print(
            f"API first page: {ms(time.perf_counter() - t)}, "
            f"total={body['total']} exact={body['total_exact']}"
        )
        cursor = body["next_cursor"]
        times = []
        for _ in range(args.pages):
            t = time.perf_counter()
            body = api.get("/api/v1/logs", params={"cursor": cursor}).raise_for_status().json()
            times.append(time.perf_counter() - t)
            cursor = body["next_cursor"]
        print(
            f"API {args.pages} cursor pages: "
            f"median {ms(statistics.median(times))}, max {ms(max(times))}"
        )
        t = time.perf_counter()
        api.get(f"/api/v1/logs?{args.filter}").raise_for_status()
        print(f"API filtered ({args.filter}): {ms(time.perf_counter() - t)}")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(base_url=args.base_url).new_page()
        page.goto("/signin")
        page.get_by_label("API key").fill(args.key)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()

        page.goto("/logs")
        print(f"UI /logs load until rows painted: {ms(page.evaluate(SINCE_NAVIGATION_JS))}")

        clicks = []
        for _ in range(args.pages):
            page.wait_for_timeout(args.pause * 1000)  # a reader glances at the page first
            clicks.append(page.evaluate(NEXT_JS))
        print(
            f"UI {args.pages} x Next until new rows painted: "
            f"median {ms(statistics.median(clicks))}, max {ms(max(clicks))}"
        )

        page.reload()
        print(
            f"UI reload on page {args.pages + 1} until rows painted: "
            f"{ms(page.evaluate(SINCE_NAVIGATION_JS))}"
        )

        page.goto(f"/logs?{args.filter}")
        print(
            f"UI filtered ({args.filter}) load until rows painted: "
            f"{ms(page.evaluate(SINCE_NAVIGATION_JS))}"
        )
        browser.close()


if __name__ == "__main__":
    main()

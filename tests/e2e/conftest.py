"""Browser tests: the real service on a real PostgreSQL, driven through Debian's Chromium.

The database comes from the main suite's `database_url` fixture (tests/conftest.py);
set E2E_DATABASE_URL to run against another, already migrated, database.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright import sync_api

from .seed import ADMIN_API_KEYS, API_KEYS, Seeded, seed

ROOT = Path(__file__).resolve().parents[2]
STATIC_INDEX = ROOT / "src" / "central_logger" / "static" / "index.html"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def e2e_database_url(request: pytest.FixtureRequest) -> str:
    override = os.environ.get("E2E_DATABASE_URL")
    if override:
        return override
    return str(request.getfixturevalue("database_url"))


def _serve_command(port: int) -> list[str]:
    cli = Path(sys.executable).parent / "central-logger"
    if cli.exists():
        return [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, "-m", "uvicorn", "central_logger.main:app", "--host", "127.0.0.1", "--port", str(port)]


@pytest.fixture(scope="session")
def base_url(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not STATIC_INDEX.exists():
        pytest.fail(f"the dashboard is not built ({STATIC_INDEX} is missing): run `make web-build`")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": e2e_database_url,
        "API_KEYS": API_KEYS,
        "ADMIN_API_KEYS": ADMIN_API_KEYS,
        "ENVIRONMENT": "development",
    }
    log_path = tmp_path_factory.mktemp("service") / "service.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(_serve_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the service exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the service did not become healthy:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def seeded(base_url: str) -> Seeded:
    return seed(base_url)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium`")
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object, base_url: str, seeded: Seeded) -> Iterator[object]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1360, "height": 900}, timezone_id="Europe/Paris")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client

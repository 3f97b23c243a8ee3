"""Browser tests: the real service on a real PostgreSQL, driven through Debian's Chromium.

The database comes from the main suite's `database_url` fixture (tests/conftest.py);
set E2E_DATABASE_URL to run against another database instead.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, sync_playwright
from psycopg import sql

from .seed import ADMIN_API_KEYS, API_KEYS, Seeded, seed
from .service import (
    CHROMIUM,
    CHROMIUM_ARGS,
    STATIC_INDEX,
    ServiceError,
    running_service,
    service_env,
)


def _sibling(url: str, name: str) -> str:
    """The same server and credentials as `url`, another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _libpq(url: str) -> str:
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


@pytest.fixture(scope="package")
def e2e_database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of its own on the suite's server, so other tests' rows never show up
    in the browser; the service migrates it at start. E2E_DATABASE_URL overrides."""
    override = os.environ.get("E2E_DATABASE_URL")
    if override:
        yield override
        return
    shared = str(request.getfixturevalue("database_url"))
    name = f"central_logger_e2e_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(_libpq(shared), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error:
        yield shared  # no right to create databases: share the suite's
        return
    yield _sibling(shared, name)
    with psycopg.connect(_libpq(shared), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="package")
def base_url(e2e_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not STATIC_INDEX.exists():
        pytest.fail(f"the dashboard is not built ({STATIC_INDEX} is missing): run `make web-build`")
    env = service_env(e2e_database_url, API_KEYS, ADMIN_API_KEYS)
    log_path = tmp_path_factory.mktemp("service") / "service.log"
    try:
        with running_service(env, log_path) as url:
            yield url
    except ServiceError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="package")
def seeded(base_url: str) -> Seeded:
    return seed(base_url)


# Package scope, not session: the sync Playwright runs its own event loop in this
# thread until it is closed; left open for the session, it broke every async test
# that ran after the browser tests (`pytest tests/e2e tests/api/test_security.py`).
# The service and its database end with the package too, for the same tidiness.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium`")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser, base_url: str, seeded: Seeded) -> Iterator[Page]:
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1360, "height": 900}, timezone_id="Europe/Paris"
    )
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


PageFactory = Callable[..., Page]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1360, "height": 900}


@pytest.fixture
def make_page(browser: Browser, base_url: str, seeded: Seeded) -> Iterator[PageFactory]:
    """New pages at a chosen viewport and colour scheme, each in a fresh browser context
    (its own session, as a second person or device would have)."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def make(
        viewport: ViewportSize | None = None,
        color_scheme: Literal["light", "dark"] = "light",
        init_script: Path | None = None,
    ) -> Page:
        context = browser.new_context(
            base_url=base_url,
            viewport=viewport or DESKTOP,
            timezone_id="Europe/Paris",
            color_scheme=color_scheme,
        )
        context.set_default_timeout(15_000)
        if init_script is not None:
            context.add_init_script(path=str(init_script))
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"

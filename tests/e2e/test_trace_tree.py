"""The trace tree on the log detail page (issue 14), in Chromium: steps nest by their
parent, collapse and expand, show total, self time and share of the run, kind,
attributes and an exception with its stack trace; a 5,000-step run opens virtualised
(the time it takes is printed, not asserted)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.dashboard import own_tenant_key, sign_in

from .seed import ADMIN_KEY

STACK = (
    "Traceback (most recent call last):\n"
    '  File "triage.py", line 42, in post_reply\n'
    "ConnectionError: mail server refused"
)


@pytest.fixture(scope="module")
def keys(base_url: str) -> tuple[str, str]:
    with httpx.Client(base_url=base_url, timeout=30) as api:
        return own_tenant_key(api, "e2e_tree_a", admin_key=ADMIN_KEY), own_tenant_key(
            api, "e2e_tree_b", admin_key=ADMIN_KEY
        )


def ship(api: httpx.Client, log: dict[str, Any], key: str) -> str:
    response = api.post("/api/v1/logs", json=log, headers={"X-API-Key": key})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _at(seconds: float) -> str:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return (start + timedelta(seconds=seconds)).isoformat()


def _nested_run() -> dict[str, Any]:
    """A 10 s run as OpenTelemetry stores it: classify (0-6 s) holds call_model (1-4 s)
    and parse (4-5 s); post_reply (6-9 s) failed with an exception."""
    return {
        "id": str(uuid.uuid4()),
        "environment": "production",
        "executed_at": _at(0),
        "execution_time_seconds": 10,
        "status": "ERROR",
        "ticket_id": f"E2E-TREE-{uuid.uuid4().hex[:6]}",
        "payload": {
            "trace": [
                {"name": "classify", "span_id": "a1", "parent_span_id": "root",
                 "started_at": _at(0), "duration_seconds": 6, "status": "ok", "kind": "INTERNAL"},
                {"name": "call_model", "span_id": "b1", "parent_span_id": "a1",
                 "started_at": _at(1), "duration_seconds": 3, "status": "ok", "kind": "CLIENT",
                 "attributes": {"llm.model": "triage-large"}},
                {"name": "parse", "span_id": "b2", "parent_span_id": "a1",
                 "started_at": _at(4), "duration_seconds": 1, "status": "ok"},
                {"name": "post_reply", "span_id": "a2", "parent_span_id": "root",
                 "started_at": _at(6), "duration_seconds": 3, "status": "error",
                 "error": "ConnectionError: mail server refused",
                 "exception": {"type": "ConnectionError", "message": "mail server refused",
                               "stacktrace": STACK}},
            ],
            "otel": {"span_id": "root", "root_span": "POST /triage", "kind": "SERVER",
                     "exception": {"type": "TimeoutError", "message": "gave up",
                                   "stacktrace": "Traceback: the root's own"}},
        },
    }  # fmt: skip


def test_steps_nest_collapse_and_show_their_details(
    page: Page, api: httpx.Client, keys: tuple[str, str]
) -> None:
    log_id = ship(api, _nested_run(), keys[0])
    sign_in(page, keys[0], f"/logs/{log_id}")
    steps = page.get_by_test_id("trace-step")
    expect(page.get_by_test_id("trace-step-name")).to_have_text(
        [
            re.compile("^classify"),
            re.compile("^call_model"),
            re.compile("^parse"),
            re.compile("^post_reply"),
        ]
    )
    expect(steps.nth(0)).to_have_attribute("data-depth", "0")
    expect(steps.nth(1)).to_have_attribute("data-depth", "1")
    expect(steps.nth(3)).to_have_attribute("data-depth", "0")
    # Total, self (6 s less its children's 4 s) and share of the 10 s run.
    expect(steps.nth(0).get_by_test_id("trace-step-duration")).to_have_text("6.00 s")
    expect(steps.nth(0).get_by_test_id("trace-step-self")).to_have_text("2.00 s")
    expect(steps.nth(0).locator(".step-share")).to_have_text("60.0%")
    expect(steps.nth(1).locator(".step-share")).to_have_text("30.0%")
    expect(page.get_by_test_id("trace-shape")).to_contain_text("2 levels deep")
    # The run's own span: its exception, which no step shows.
    expect(page.get_by_test_id("run-span")).to_contain_text("POST /triage")
    expect(page.get_by_test_id("run-exception")).to_contain_text("TimeoutError: gave up")

    # Collapse and expand classify's children.
    toggle = steps.nth(0).get_by_test_id("tree-toggle")
    toggle.click()
    expect(steps).to_have_count(2)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(steps).to_have_count(4)

    # The model call's kind and attributes; the failed step's exception with its stack.
    steps.nth(1).get_by_role("button").first.click()
    expect(steps.nth(1).get_by_test_id("step-kind")).to_have_text("CLIENT")
    expect(steps.nth(1)).to_contain_text("triage-large")
    steps.nth(3).get_by_role("button").first.click()
    exception = steps.nth(3).get_by_test_id("step-exception")
    expect(exception).to_contain_text("ConnectionError: mail server refused")
    expect(exception.locator("pre")).to_contain_text("line 42, in post_reply")


def test_another_tenants_run_is_not_found(
    page: Page, api: httpx.Client, keys: tuple[str, str]
) -> None:
    log_id = ship(api, _nested_run(), key=keys[1])
    sign_in(page, keys[0], f"/logs/{log_id}")
    expect(page.get_by_test_id("error-state")).to_be_visible()
    expect(page.get_by_test_id("trace-step")).to_have_count(0)


def _big_run(steps: int) -> dict[str, Any]:
    """A tree of `steps` steps, ten children per step, in start order."""
    trace = [
        {
            "name": f"step-{i}",
            "span_id": f"s{i}",
            "parent_span_id": "root" if i == 0 else f"s{(i - 1) // 10}",
            "started_at": _at(i / 1000),
            "duration_seconds": 0.001,
            "status": "ok",
        }
        for i in range(steps)
    ]
    return {
        "environment": "production",
        "executed_at": _at(0),
        "execution_time_seconds": steps / 1000,
        "status": "SUCCESS",
        "ticket_id": f"E2E-BIG-{uuid.uuid4().hex[:6]}",
        "payload": {"trace": trace, "otel": {"span_id": "root"}},
    }


def test_a_5000_step_run_opens_virtualised(
    page: Page, api: httpx.Client, keys: tuple[str, str]
) -> None:
    log_id = ship(api, _big_run(5_000), keys[0])
    sign_in(page, keys[0], "/logs")
    # Timed in the browser: from the navigation's start to the first step on screen.
    page.goto(f"/logs/{log_id}")
    first = page.get_by_test_id("trace-step").first
    expect(first).to_be_visible()
    elapsed_ms = page.evaluate("() => performance.now()")
    print(f"\n5,000-step run: detail page to its first steps on screen in {elapsed_ms:.0f} ms")
    expect(page.get_by_role("heading", name=re.compile("Trace"))).to_contain_text("5000 steps")
    rendered = page.get_by_test_id("trace-step").count()
    assert 0 < rendered < 200, rendered  # only the rows in view (and a few more)
    # Scrolled to the end, the last row (in tree order) is there.
    page.get_by_test_id("trace-scroll").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(page.locator('[data-testid="trace-step"][data-index="4999"]')).to_be_visible()
    # Collapse all: one top-level step is left.
    page.get_by_role("button", name="Collapse all").click()
    expect(page.get_by_test_id("trace-step")).to_have_count(1)

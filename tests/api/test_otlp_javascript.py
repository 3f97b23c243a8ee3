"""The OpenTelemetry JavaScript SDK's OTLP/HTTP JSON exporter (hex ids, millisecond
start times), run by Node.js on tests/otel_js/export_traces.mjs against the running
service: every run becomes one log whose steps nest and come parent before child.
`make otel-js` installs its packages (tests/otel_js/package-lock.json)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.live import LiveServer
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth

SCRIPT_DIR = Path(__file__).parents[1] / "otel_js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


@pytest.fixture
def live(settings: Settings) -> Iterator[str]:
    with LiveServer(create_app(settings, migrate=False)) as server:
        yield server.url


def test_javascript_sdk_runs_become_nested_logs(live: str) -> None:
    assert (SCRIPT_DIR / "node_modules" / "@opentelemetry").is_dir(), (
        "the JavaScript SDK is not installed: run `make otel-js`"
    )
    assert NODE is not None
    done = subprocess.run(
        [NODE, "export_traces.mjs", live, TENANT_A_KEY],
        cwd=SCRIPT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    trace_ids = done.stdout.split()
    assert len(trace_ids) == 3
    for trace_id in trace_ids:
        url = f"{live}/api/v1/logs/{uuid.UUID(hex=trace_id)}"
        log = httpx.get(url, headers=auth(TENANT_A_KEY)).json()
        steps = log["payload"]["trace"]
        # Same-millisecond starts: still parent before child, every time.
        names = [s["name"] for s in steps]
        assert sorted(names) == ["call_model", "classify", "post_reply"]
        assert names.index("classify") < names.index("call_model")
        by_name = {s["name"]: s for s in steps}
        assert by_name["call_model"]["parent_span_id"] == by_name["classify"]["span_id"]
        assert by_name["classify"]["parent_span_id"] == log["payload"]["otel"]["span_id"]
        assert by_name["call_model"]["attributes"] == {"llm.model": "triage-small"}
        # workflow.category from a step; the ticket from the root.
        assert log["ticket_id"].startswith("JS-")
        assert log["category"] == "billing_issue"
        # The failed step under an unset root status fails the run.
        assert log["status"] == "ERROR"
        assert by_name["post_reply"]["exception"]["message"] == "mail server refused"
        assert by_name["post_reply"]["exception"]["stacktrace"]
        assert log["payload"]["otel"]["kind"] == "SERVER"
        assert log["payload"]["otel"]["scope"] == {"name": "triage-js-agent", "version": "1.0.0"}
        assert log["environment"] == "staging"
        assert httpx.get(url, headers=auth(TENANT_B_KEY)).status_code == 404

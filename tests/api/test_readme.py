"""The README's curl examples work when pasted today: run verbatim by bash against a
real server (only the address changed), the overview they end with counts the run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.live import LiveServer
from tests.support.requirements import requirement

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"api_keys": {"test_key_123": "client_1"}}  # the seed's .env, as the README says


@pytest.fixture
def live(settings: Settings) -> Iterator[str]:
    with LiveServer(create_app(settings, migrate=False)) as server:
        yield server.url


def curl_block() -> str:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL)
    found = [b for b in blocks if "curl -X POST http://localhost:8000/api/v1/logs" in b]
    assert len(found) == 1, "the README has one curl walkthrough"
    return str(found[0])


def test_the_readme_has_no_stale_dates() -> None:
    assert not re.search(r'"executed_at": "20\d\d-', README.read_text())


@requirement(shutil.which("curl") is None, "no curl on PATH: apt-get install curl")
def test_the_readme_curl_examples_work_today(live: str) -> None:
    script = curl_block().replace("http://localhost:8000", live)
    # Each command prints one JSON document; a newline after each keeps them apart.
    separated = 'curl() { command curl -sS --fail-with-body "$@"; echo; }\n' + script
    done = subprocess.run(
        ["bash", "-e", "-c", separated], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr + done.stdout
    documents = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    created, listing, overview = documents
    assert "id" in created
    assert listing["total"] == 1
    assert overview["total_runs"] == 1, "the example's run falls in the last 7 days"

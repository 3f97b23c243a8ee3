"""Every snippet of docs/ingest.md, run against a real service."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.live import LiveServer
from tests.support.tenants import TENANT_A_KEY, auth

DOC = Path(__file__).resolve().parents[2] / "docs" / "ingest.md"


def snippets(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


@pytest.fixture
def live(settings: Settings) -> Iterator[str]:
    with LiveServer(create_app(settings, migrate=False)) as server:
        yield server.url


@pytest.fixture
def doc_env(live: str) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "CENTRAL_LOGGER_URL": live,
        "CENTRAL_LOGGER_API_KEY": TENANT_A_KEY,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
    }


def tickets(live: str) -> set[str]:
    page = httpx.get(f"{live}/api/v1/logs", params={"page_size": 100}, headers=auth(TENANT_A_KEY))
    return {item["ticket_id"] for item in page.json()["items"]}


def test_the_page_has_the_three_ways_in() -> None:
    assert len(snippets("python")) == 2
    assert len(snippets("bash")) == 1


@pytest.mark.parametrize("index", [0, 1], ids=["shipper", "opentelemetry"])
def test_python_snippets(live: str, doc_env: dict[str, str], tmp_path: Path, index: int) -> None:
    result = subprocess.run(
        [sys.executable, "-c", snippets("python")[index]],
        env=doc_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    expected = [{"TICKET-123", "TICKET-124"}, {"TICKET-125"}][index]
    assert expected <= tickets(live)


def test_backfill_snippet(live: str, doc_env: dict[str, str], tmp_path: Path) -> None:
    for attempt in range(2):  # a second run stores nothing new
        result = subprocess.run(
            ["bash", "-e", "-c", snippets("bash")[0]],
            env=doc_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert ("2 accepted" if attempt == 0 else "2 duplicate") in result.stdout
    assert {"OLD-1", "OLD-2"} <= tickets(live)

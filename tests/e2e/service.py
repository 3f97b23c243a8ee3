"""Start the real service as a subprocess on a free port (conftest.py, screenshots.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.live import free_port

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


class ServiceError(RuntimeError):
    pass


def serve_command(port: int) -> list[str]:
    cli = Path(sys.executable).parent / "central-logger"
    if cli.exists():
        return [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "central_logger.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def service_env(database_url: str, api_keys: str, admin_api_keys: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "API_KEYS": api_keys,
        "ADMIN_API_KEYS": admin_api_keys,
        "ENVIRONMENT": "development",
        # The Logs page's Live mode is browser-tested (off by default: docs/live-tail.md).
        "LIVE_TAIL_ENABLED": "true",
    }


@contextmanager
def running_service(env: dict[str, str], log_path: Path, timeout: float = 60) -> Iterator[str]:
    """Yields the base URL once /health answers 200; stops the process afterwards."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            serve_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise ServiceError(
                    f"the service exited with {process.returncode}:\n{log_path.read_text()[-4000:]}"
                )
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"the service did not become healthy:\n{log_path.read_text()[-4000:]}"
                )
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

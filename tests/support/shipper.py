"""The real service for the shipper's tests (tests/clients): uvicorn in a subprocess,
configured with the shipper's own key."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.live import free_port

REPO = Path(__file__).resolve().parents[2]

API_KEY = "shipper_key"
CLIENT_ID = "shipper_client"


def _python() -> str:
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


class Service:
    """The real Central Logger service, run by uvicorn in a subprocess."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.extra_env = extra_env or {}
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"service-{self.port}.log"

    def start(self, timeout: float = 40.0) -> None:
        env = dict(os.environ)
        env["DATABASE_URL"] = self.database_url
        env["API_KEYS"] = json.dumps({API_KEY: CLIENT_ID})
        env.update(self.extra_env)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p
        )
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    _python(),
                    "-m",
                    "uvicorn",
                    "central_logger.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                cwd=self.workdir,  # no stray .env
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"the service did not become healthy:\n{tail}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def logs(self, environment: str) -> list[dict[str, Any]]:
        """Every stored log of ``environment``, through the query API."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        with httpx.Client(base_url=self.url, headers={"X-API-Key": API_KEY}, timeout=10) as http:
            for _ in range(100):
                params: dict[str, Any] = {"page_size": 500, "environment": environment}
                if cursor:
                    params["cursor"] = cursor
                response = http.get("/api/v1/logs", params=params)
                response.raise_for_status()
                body = response.json()
                items.extend(body["items"])
                cursor = body.get("next_cursor")
                if not cursor:
                    break
        return items

    def log(self, log_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}/api/v1/logs/{log_id}", headers={"X-API-Key": API_KEY}, timeout=10
        )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

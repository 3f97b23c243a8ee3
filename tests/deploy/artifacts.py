"""What the deploy tests read from the repository: the built wheel, the Dockerfile's
instructions, and a process run as an unprivileged user."""

from __future__ import annotations

import json
import os
import pwd
import re
import shlex
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def built_wheel() -> Path:
    wheels = sorted((ROOT / "dist").glob("central_logger-*.whl"))
    assert len(wheels) == 1, f"expected one wheel in dist/ (run `make dist`): {wheels}"
    return wheels[0]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        word, _, rest = stripped.partition(" ")
        found.append((word.upper(), rest.strip()))
    return found


def exec_form(arguments: str) -> list[str]:
    """A CMD's (or HEALTHCHECK CMD's) exec form, as the JSON array it is."""
    command = json.loads(arguments)
    assert isinstance(command, list)
    return [str(part) for part in command]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def image_env() -> dict[str, str]:
    """The final stage's ENV (KEY=value pairs)."""
    env: dict[str, str] = {}
    for word, rest in final_stage():
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


UNPRIVILEGED = "nobody"


def unprivileged(database_url: str) -> tuple[dict[str, Any], str]:
    """subprocess.Popen arguments that run a command as an unprivileged user when we
    are root (as the image's USER does), and that user's name: `nobody`, or, for a
    database on a unix socket (the embedded test server), the socket directory's owner,
    the only user besides root that may connect there."""
    if os.geteuid() != 0:
        return {}, pwd.getpwuid(os.geteuid()).pw_name
    host = psycopg.conninfo.conninfo_to_dict(database_url).get("host", "")
    if host.startswith("/") and os.stat(host).st_uid != 0:
        user = pwd.getpwuid(os.stat(host).st_uid)
    else:
        user = pwd.getpwnam(UNPRIVILEGED)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}, user.pw_name

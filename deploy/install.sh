#!/bin/sh
# The runtime image's install step (Dockerfile), run as well by tests/deploy outside a
# container: a virtual environment at $1 with the wheels named after it. Nothing else
# is installed: no compiler, no Node.js (the dashboard is inside the wheel).
set -eu
venv="$1"
shift
python3 -m venv "$venv"
"$venv/bin/pip" install --disable-pip-version-check --no-compile "$@"

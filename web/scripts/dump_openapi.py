"""Print the service's OpenAPI document, as JSON, for generating the dashboard's types
(`make web-types`).

The app is built but not started: `app.openapi()` needs no database. Settings are the
defaults, whatever the environment or `.env` say, so the document (and the types
generated from it) does not depend on the machine that generates it.
"""

from __future__ import annotations

import json
import sys

from central_logger.main import create_app
from central_logger.settings import Settings


def main() -> None:
    # No variable has this prefix: every setting keeps its default.
    settings = Settings(_env_file=None, _env_prefix="CENTRAL_LOGGER_OPENAPI_DEFAULTS_")
    document = create_app(settings, migrate=False).openapi()
    json.dump(document, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

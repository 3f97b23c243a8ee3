"""The built dashboard at `/`, with client-side routes falling back to index.html.
API, health and docs paths are never shadowed: their routes are matched first, and
an unknown /api path stays a 404 problem."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_NOT_THE_APP = ("api/", "api", "health", "docs", "openapi.json", "redoc", "v1/", "metrics")


class DashboardFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or path.startswith(_NOT_THE_APP):
                raise
            return await super().get_response("index.html", scope)


def dashboard_is_built() -> bool:
    return (STATIC_DIR / "index.html").is_file()

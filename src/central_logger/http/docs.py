"""Swagger UI at /docs from the service's own files (no CDN: it works offline).

The web build copies Swagger UI from the npm package `swagger-ui-dist` into
static/swagger/ (web/vite.config.ts); the dashboard's static mount serves those files."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from central_logger.http.dashboard import STATIC_DIR

SWAGGER_DIR = STATIC_DIR / "swagger"
SWAGGER_URL = "/swagger"


def swagger_is_built() -> bool:
    return (SWAGGER_DIR / "swagger-ui-bundle.js").is_file()


def install_docs(app: FastAPI, *, openapi_url: str) -> None:
    """GET /docs: Swagger UI on local files, or a page saying how to build them."""

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        if not swagger_is_built():
            return HTMLResponse(
                "<!doctype html><title>API docs</title><p>Swagger UI is part of the dashboard"
                " build, which is missing: run <code>make web-build</code>"
                " (or <code>make run</code>)."
                f' The OpenAPI document is at <a href="{openapi_url}">{openapi_url}</a>.</p>',
                status_code=503,
            )
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title="Central Logger API",
            swagger_js_url=f"{SWAGGER_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_URL}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_URL}/favicon-32x32.png",
        )

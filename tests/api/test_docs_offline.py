"""/docs works offline: Swagger UI comes from the package's own files, never a CDN."""

from __future__ import annotations

import re

import httpx


async def test_swagger_ui_is_served_from_the_package(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    external = re.findall(r"""(?:src|href)=["'](https?:)?//""", page.text)
    assert external == [], "the docs page loads something from another host"
    assert "cdn.jsdelivr" not in page.text
    assets = re.findall(r"""(?:src|href)=["'](/swagger/[^"']+)["']""", page.text)
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    for asset in assets:
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert response.content, asset
    assert "SwaggerUIBundle" in (await client.get("/swagger/swagger-ui-bundle.js")).text

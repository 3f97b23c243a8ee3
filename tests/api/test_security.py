"""Security headers on the dashboard and the API, CORS closed by default, and API keys
never written to the service's own logs."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from central_logger.http.dashboard import dashboard_is_built
from central_logger.http.security import CONTENT_SECURITY_POLICY
from tests.support.factories import a_log
from tests.support.requirements import requirement
from tests.support.tenants import ADMIN_KEY, TENANT_A_KEY, TENANT_B_KEY, auth

needs_dashboard = requirement(
    not dashboard_is_built(), "the dashboard is not built: run `make web-build`"
)


def _assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@needs_dashboard
async def test_dashboard_carries_a_csp_it_satisfies(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    _assert_security_headers(page)
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    html = page.text
    # No inline script: every <script> loads a same-origin file.
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts
    for attributes, body in scripts:
        assert body.strip() == ""
        source = re.search(r'src="([^"]+)"', attributes)
        assert source is not None
        assert source.group(1).startswith("/")
    # No inline style element or attribute in the document either.
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', html):
        response = await client.get(asset)
        assert response.status_code == 200
        _assert_security_headers(response)
    # A client-side route gets the same page and the same headers.
    _assert_security_headers(await client.get("/logs"))


async def test_api_responses_carry_the_headers(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/health"),
        await client.get("/api/v1/logs", headers=auth(TENANT_A_KEY)),
        await client.get("/api/v1/logs"),
        await client.get("/api/v1/nowhere", headers=auth(TENANT_A_KEY)),
    ):
        _assert_security_headers(response)
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


async def test_cors_is_closed_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/api/v1/logs",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = await client.get(
        "/api/v1/logs", headers={**auth(TENANT_A_KEY), "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in simple.headers


@pytest.mark.parametrize("settings_overrides", [{"cors_origins": ["https://ops.example"]}])
async def test_cors_allows_only_configured_origins(client: httpx.AsyncClient) -> None:
    def preflight(origin: str) -> dict[str, str]:
        return {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-API-Key, Content-Type",
        }

    allowed = await client.options("/api/v1/logs", headers=preflight("https://ops.example"))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://ops.example"
    assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
    refused = await client.options("/api/v1/logs", headers=preflight("https://evil.example"))
    assert "access-control-allow-origin" not in refused.headers


def test_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from central_logger.settings import Settings

    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings(_env_file=None).cors_origins == ["https://a.example", "https://b.example"]
    monkeypatch.setenv("CORS_ORIGINS", '["https://c.example"]')
    assert Settings(_env_file=None).cors_origins == ["https://c.example"]
    monkeypatch.delenv("CORS_ORIGINS")
    assert Settings(_env_file=None).cors_origins == []


async def test_keys_never_reach_the_logs(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Every path a key takes (good, bad, bearer, in an error, through the audit flush)
    at DEBUG, then a grep of everything logged for any key."""
    caplog.set_level(logging.DEBUG)
    secret_bad = "cl_deadbeef_this-is-a-wrong-but-secret-key-value"
    for key in (TENANT_A_KEY, TENANT_B_KEY, ADMIN_KEY, secret_bad, "short"):
        await client.post("/api/v1/logs", json=a_log(), headers=auth(key))
        await client.get("/api/v1/logs", headers={"Authorization": f"Bearer {key}"})
        await client.post("/api/v1/logs", content=b"{", headers=auth(key))
        await client.get("/api/v1/metrics/overview?days=0", headers=auth(key))
    state = client._transport.app.state.central_logger  # type: ignore[attr-defined]
    await state.audit.flush()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert logged  # something was logged, so the grep means something
    for key in (TENANT_A_KEY, TENANT_B_KEY, ADMIN_KEY, secret_bad):
        assert key not in logged
    assert "this-is-a-wrong" not in logged

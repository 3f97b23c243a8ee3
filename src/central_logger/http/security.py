"""What every response carries and every request is checked for before routing:
a bound on header size, security headers for the dashboard, and CORS (closed unless
CORS_ORIGINS names origins). Also what the access log must not show: credentials sent
in a query string. Proxy headers are believed only from FORWARDED_ALLOW_IPS,
which `central-logger serve` hands to uvicorn.

Pure ASGI middleware: no per-request objects beyond a closure, so ingestion pays
almost nothing for it."""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central_logger.http.problems import FieldError, problem_response
from central_logger.settings import Settings

# The built dashboard loads only its own hashed script and stylesheet (no inline
# script), its favicon is a data: URI, and it talks to its own origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
# Swagger UI (development only) loads its scripts from a CDN with an inline bootstrap.
_NO_CSP_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts_max_age_seconds: int = 0) -> None:
        self.app = app
        # Only over HTTPS (served directly, or by a trusted proxy's X-Forwarded-Proto):
        # a browser ignores it over plain HTTP, and a plain-HTTP development server must
        # not be pinned to HTTPS.
        self._hsts = (
            (b"strict-transport-security", f"max-age={hsts_max_age_seconds}".encode())
            if hsts_max_age_seconds > 0
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(_HEADERS)
        if not str(scope.get("path", "")).startswith(_NO_CSP_PATHS):
            extra.append(_CSP)
        if self._hsts is not None and scope.get("scheme") == "https":
            extra.append(self._hsts)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in extra if h[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeaderSizeLimit:
    """431 when the request's headers add up to more than MAX_HEADER_BYTES (the server
    in front has its own cap too; this one holds under any server)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > self.max_bytes:
                response = problem_response(
                    431,
                    f"The request headers are larger than the limit of {self.max_bytes} bytes",
                    [FieldError(field="header", reason=f"over {self.max_bytes} bytes in total")],
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# Query parameters whose values are secrets: matched after lower-casing, decoding and
# mapping "-" to "_", as whole names or by these endings.
_CREDENTIAL_PARAMS = frozenset(
    {
        "key",
        "apikey",
        "token",
        "auth",
        "authorization",
        "password",
        "passwd",
        "secret",
        "signature",
        "sig",
        "session",
        "sessionid",
        "jwt",
        "bearer",
        "credentials",
    }
)
_CREDENTIAL_ENDINGS = ("_key", "_token", "_secret", "_password", "_auth", "_signature")
_QUERY_PARAM = re.compile(r"([^&=?]*)=([^&]*)")
REDACTED = "[redacted]"


def _is_credential(name: str) -> bool:
    normal = unquote(name).strip().lower().replace("-", "_")
    return normal in _CREDENTIAL_PARAMS or normal.endswith(_CREDENTIAL_ENDINGS)


def redact_query(path: str) -> str:
    """`path?query` with the values of credential-like parameters replaced."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    redacted = _QUERY_PARAM.sub(
        lambda m: f"{m[1]}={REDACTED}" if _is_credential(m[1]) else m[0], query
    )
    return f"{base}?{redacted}"


class AccessLogRedaction(logging.Filter):
    """On "uvicorn.access": a key sent as `?api_key=...` (or token=, x-api-key=, ...) is
    refused by the API, but uvicorn logs the request line with it, and access logs are
    kept and shipped widely. Its record's arguments are (client, method, path with
    query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        return True


def install_access_log_redaction() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedaction) for f in access.filters):
        access.addFilter(AccessLogRedaction())


def install_security(app: FastAPI, settings: Settings) -> None:
    install_access_log_redaction()
    app.add_middleware(HeaderSizeLimit, max_bytes=settings.max_header_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=[
                settings.api_key_header,
                "Authorization",
                "Content-Type",
                "Content-Encoding",
            ],
            expose_headers=["Retry-After", "RateLimit", "RateLimit-Policy"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders, hsts_max_age_seconds=settings.hsts_max_age_seconds)

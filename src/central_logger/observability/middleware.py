"""Per request, outermost of the app's middleware: the request id (made or accepted,
sent back, bound to the request's log lines) and the request's count and latency by
route template and status.

Pure ASGI: ingestion pays a clock read, a header and two metric updates."""

from __future__ import annotations

import time

import structlog
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central_logger.observability.metrics import observe_request
from central_logger.observability.request_id import (
    REQUEST_ID_HEADER,
    accepted_request_id,
    new_request_id,
    set_request_id,
)

_HEADER = REQUEST_ID_HEADER.encode()
_READ_SOURCE = b"x-read-source"
# A request no route matched (a 404, or a method the path does not have): one label
# for all of them, whatever their path.
UNMATCHED = "unmatched"
DASHBOARD = "dashboard"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    if isinstance(route, Mount):
        return DASHBOARD
    return str(getattr(route, "path", UNMATCHED))


class RequestContext:
    def __init__(self, app: ASGIApp, *, key_header: str) -> None:
        self.app = app
        self._credential_headers = {key_header.lower().encode(), b"authorization"}

    def _request_id(self, scope: Scope) -> str:
        sent: str | None = None
        credentials: list[str] = []
        for name, value in scope["headers"]:
            if name == _HEADER:
                sent = value.decode("latin-1")
            elif name in self._credential_headers:
                text = value.decode("latin-1")
                credentials.append(text)
                credentials.extend(text.split())  # "Bearer <token>": the token alone too
        return accepted_request_id(sent, credentials) or new_request_id()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = self._request_id(scope)
        # Not reset afterwards: uvicorn runs each request in a task of its own, and an
        # error answered outside this middleware still finds the id.
        set_request_id(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        header = (_HEADER, request_id.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [header]
                # Set by a read that may go to the replica (auth/dependencies.py).
                source = scope.get("state", {}).get("read_source")
                if source is not None:
                    extra.append((_READ_SOURCE, str(source).encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            method = scope.get("method", "")
            observe_request(
                method if method in _METHODS else "other",
                route_label(scope),
                status,
                time.perf_counter() - started,
            )

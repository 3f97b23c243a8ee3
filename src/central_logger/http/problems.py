"""RFC 9457 problem details: the one error shape of every endpoint."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central_logger.http.responses import ORJSONResponse
from central_logger.observability.request_id import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []
    # The request's X-Request-ID: quote it to find the request in the service log.
    request_id: str | None = None


def _problem_response(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


# Every error an API operation may answer, documented once for the OpenAPI schema
# (so generated clients and schema-driven tests know the problem shape).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem_response("Malformed JSON, gzip or parameters"),
    401: _problem_response("Missing, unknown, expired or revoked API key"),
    403: _problem_response("The key lacks the scope, or names another tenant"),
    404: _problem_response("Unknown id, or another tenant's"),
    413: _problem_response("Body, decompressed body or batch too large"),
    415: _problem_response("Content-Type or Content-Encoding not supported"),
    422: _problem_response("Validation failed; `errors` names each field"),
    429: _problem_response("The key's rate limit is spent; see Retry-After"),
    431: _problem_response("Request headers too large"),
    503: _problem_response("The database is unavailable; see Retry-After"),
}


class ProblemError(Exception):
    """Raised anywhere below a router to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def __reduce__(self) -> tuple[Any, ...]:
        # Whole across a process boundary (bodies are parsed in worker processes,
        # `http.offload`): the default pickling keeps only the positional arguments.
        return (_rebuild_problem, (self.status, self.detail, self.errors, self.headers))


def _rebuild_problem(
    status: int, detail: str, errors: list[FieldError], headers: dict[str, str]
) -> ProblemError:
    return ProblemError(status, detail, errors=errors, headers=headers)


def problem_response(
    status: int,
    detail: str,
    errors: Iterable[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=list(errors),
        request_id=current_request_id(),
    )
    return ORJSONResponse(
        body.model_dump(), status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _loc_to_field(loc: Sequence[int | str]) -> str:
    # An empty location is the body itself (a JSON string where an object belongs).
    return ".".join(str(part) for part in loc) or "body"


def _reason(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        if error["loc"] and error["loc"][-1] == "client_id":
            return "unknown field: client_id comes from the API key and cannot be sent"
        return "unknown field"
    message = str(error["msg"])
    # Pydantic prefixes custom errors with "Value error, "; the field already says where.
    return message.removeprefix("Value error, ")


def field_errors(
    errors: Iterable[Mapping[str, Any]], *, prefix: Sequence[str | int] = ()
) -> list[FieldError]:
    return [
        FieldError(field=_loc_to_field([*prefix, *error["loc"]]), reason=_reason(error))
        for error in errors
    ]


def validation_problem(errors: list[FieldError]) -> ProblemError:
    count = len(errors)
    noun = "field is" if count == 1 else "fields are"
    return ProblemError(422, f"{count} {noun} invalid", errors=errors)


def _is_database_unavailable(exc: Exception) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeoutError, OSError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def log_unexpected(method: str, path: str, exc: BaseException) -> None:
    """Log an unhandled error. A database error's message is left out: PostgreSQL's
    messages quote the values they refuse (`invalid input syntax ...: "<value>"`, a
    key's DETAIL), and those are tenant data; its SQLSTATE, statement and stack say
    where it happened."""
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        logger.error(
            "unhandled database error on %s %s: %s (SQLSTATE %s)\nstatement: %s\n%s",
            method,
            path,
            type(exc.orig).__name__,
            sqlstate,
            exc.statement,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return
    logger.error("unhandled error on %s %s", method, path, exc_info=exc)


class AnswerUnhandledErrors:
    """Answer an exception nothing else handled with a 500 problem, and keep it.

    Starlette runs a handler registered for Exception in its outermost middleware,
    which re-raises after answering: uvicorn then logs it a second time (with the
    whole message) and closes the keep-alive connection behind the answer. Caught
    here, inside that middleware, the connection stays usable. Once a response has
    started nothing else can be sent, so then the error goes on up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            log_unexpected(scope.get("method", ""), scope.get("path", ""), exc)
            response = problem_response(500, "Internal error; it has been logged.")
            await response(scope, receive, send)


def install_problem_handlers(app: FastAPI, *, retry_after_seconds: int) -> None:
    retry_after = {"Retry-After": str(retry_after_seconds)}

    async def on_problem(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_response(exc.status, exc.detail, exc.errors, exc.headers)

    async def on_request_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = field_errors(exc.errors())
        return problem_response(422, validation_problem(errors).detail, errors)

    async def on_pydantic_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationError)
        errors = field_errors(exc.errors())
        return problem_response(422, validation_problem(errors).detail, errors)

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(exc.status_code, detail, headers=exc.headers)

    async def on_database_error(request: Request, exc: Exception) -> Response:
        if _is_database_unavailable(exc):
            logger.warning("database unavailable: %s", type(exc).__name__)
            return problem_response(
                503, "The database is unavailable; retry later.", headers=retry_after
            )
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log_unexpected(request.method, request.url.path, exc)
        return problem_response(500, "Internal error; it has been logged.")

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(ValidationError, on_pydantic_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    # Registered by class so that ExceptionMiddleware answers them (a bare Exception
    # handler runs in ServerErrorMiddleware, which re-raises after answering).
    for database_error in (DBAPIError, PoolTimeoutError, OSError):
        app.add_exception_handler(database_error, on_database_error)
    # The last resort, for an error raised in a middleware outside AnswerUnhandledErrors.
    app.add_exception_handler(Exception, on_unexpected)
    app.add_middleware(AnswerUnhandledErrors)

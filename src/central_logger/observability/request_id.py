"""The request id: one per request, sent back as `X-Request-ID`, written in every
problem document and bound to every log line of the request, so an error a user
quotes is found in the service log.

A client's own X-Request-ID (a proxy's or a tracing system's) is kept when it is a
plain token: letters, digits and `._:-`, at most 64 characters, and nothing that could
be a credential (the request's own key, or anything in our key format), since the id
is written to logs that keys must never reach. Otherwise a new one is made.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from central_logger.auth.keys import KEY_PREFIX_MARK

REQUEST_ID_HEADER = "x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_current: ContextVar[str | None] = ContextVar("central_logger_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    return _current.get()


def set_request_id(value: str) -> None:
    _current.set(value)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(sent: str | None, credentials: list[str]) -> str | None:
    """`sent` when it may be used as the request id, else None."""
    if not sent or not _SANE.fullmatch(sent):
        return None
    if KEY_PREFIX_MARK in sent.lower():
        return None
    if any(secret and (secret in sent or sent in secret) for secret in credentials):
        return None
    return sent

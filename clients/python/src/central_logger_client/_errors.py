"""The shipper's exceptions: one class per kind of failure.

None of them is ever raised into the workflow by ``log()``, ``run()``,
``flush()`` or ``close()``: they are handed to the ``on_rejected`` and
``on_dropped`` callbacks and written to :mod:`logging`. Only the constructor
raises, with :class:`ConfigurationError`, for arguments that can never work.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CentralLoggerError",
    "ConfigurationError",
    "DeliveryError",
    "DroppedError",
    "RejectedError",
    "SpoolError",
]


class CentralLoggerError(Exception):
    """Base class of every error of the shipper."""


class ConfigurationError(CentralLoggerError, ValueError):
    """An argument given to the client can never work (raised by the constructor)."""


class DeliveryError(CentralLoggerError):
    """A send attempt failed for a reason that may pass; the logs are retried.

    Connection errors, timeouts, 408, 429 and 5xx responses.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class RejectedError(CentralLoggerError):
    """The service refused logs for good; they are not retried.

    ``logs`` are the refused logs (as sent) and ``errors`` the service's reasons,
    one list of ``{"field": ..., "reason": ...}`` per log. ``status_code`` is the
    HTTP status: a 4xx for a refused batch, 200 for items refused inside an
    accepted batch.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        logs: list[dict[str, Any]],
        errors: list[list[dict[str, Any]]],
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.logs = logs
        self.errors = errors


class DroppedError(CentralLoggerError):
    """Logs were discarded because a bound was hit or the client was closed.

    ``count`` logs were dropped; ``reason`` says why.
    """

    def __init__(self, message: str, *, count: int, reason: str) -> None:
        super().__init__(message)
        self.count = count
        self.reason = reason


class SpoolError(CentralLoggerError):
    """The spool directory cannot be used (created, locked, written or read)."""

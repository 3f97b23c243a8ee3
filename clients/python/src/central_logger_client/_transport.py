"""One HTTP POST of a batch to ``/api/v1/logs/batch``, over a reused connection."""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from ._errors import DeliveryError

__all__ = ["Response", "Transport", "parse_retry_after"]

_MAX_RETRY_AFTER = 600.0


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


@dataclass(frozen=True)
class Response:
    status_code: int
    body: Any
    retry_after: float | None


class Transport:
    """Posts batches; raises :class:`DeliveryError` when no answer came back."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        api_key_header: str,
        timeout: float,
        compress: bool,
        verify: bool | str,
    ) -> None:
        self._options: dict[str, Any] = {
            "api_key_header": api_key_header,
            "timeout": timeout,
            "compress": compress,
            "verify": verify,
        }
        self._url = url
        self._api_key = api_key
        self.compress = compress
        self._endpoint = url.rstrip("/") + "/api/v1/logs/batch"
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            headers={
                api_key_header: api_key,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "central-logger-client/python",
            },
            verify=verify,
        )

    def post(self, items: list[bytes]) -> Response:
        body = b'{"logs":[' + b",".join(items) + b"]}"
        headers: dict[str, str] = {}
        if self.compress:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        try:
            response = self._client.post(self._endpoint, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        try:
            parsed: Any = response.json() if response.content else None
        except (ValueError, json.JSONDecodeError):
            parsed = None
        return Response(
            response.status_code, parsed, parse_retry_after(response.headers.get("Retry-After"))
        )

    def fresh(self) -> Transport:
        """A new transport with the same settings and its own connections (after fork)."""
        return Transport(self._url, self._api_key, **self._options)

    def close(self) -> None:
        self._client.close()

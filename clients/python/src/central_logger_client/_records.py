"""Building one log record: ids, timestamps, JSON encoding."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from typing import Any

__all__ = ["decode", "encode", "new_id", "now", "rfc3339"]


def new_id() -> str:
    """A UUIDv7 (time-ordered, RFC 9562) as a string: cheap to index on the server."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> 68  # 12 bits
    rand_b = rand & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def now() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 with a zone; a naive datetime is taken as local time."""
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.isoformat()


def _default(value: object) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def _finite(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` whose non-finite floats are strings (JSON has no NaN)."""
    if depth > 64:
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _finite(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_finite(v, depth + 1) for v in value]
    return value


def encode(record: Mapping[str, Any]) -> bytes:
    """Strict JSON for one record; anything JSON cannot carry is made a string."""
    try:
        text = json.dumps(
            record, default=_default, separators=(",", ":"), allow_nan=False, ensure_ascii=False
        )
    except (ValueError, TypeError, RecursionError):
        text = json.dumps(
            _finite(record),
            default=_default,
            separators=(",", ":"),
            allow_nan=False,
            ensure_ascii=False,
        )
    # Lone surrogates (e.g. from surrogateescape) are not UTF-8: the service would
    # refuse the whole batch as malformed JSON. They become "?".
    return text.encode("utf-8", "replace")


def decode(item: bytes) -> dict[str, Any]:
    try:
        value = json.loads(item)
    except ValueError:
        return {"raw": item.decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {"raw": value}

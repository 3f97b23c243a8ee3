"""Types for query parameters shared by the routers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


QueryText = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_no_nul)]


def _to_utc(value: datetime) -> datetime:
    # PostgreSQL refuses offsets beyond ±15:59 that Python accepts (up to ±23:59), and
    # the edges of year 1 and 9999 cannot move to UTC: both are the client's mistake.
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range once converted to UTC") from exc


# An RFC 3339 time with a zone, normalised to UTC before it reaches the database.
UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

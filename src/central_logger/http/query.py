"""Types for query parameters shared by the routers."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


QueryText = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_no_nul)]

# Characters that show as nothing: two spellings that differ only by them (or by NFC
# against NFD) look the same on every screen, so they must be the same label.
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def normalise_label(value: Any) -> Any:
    """NFC, without zero-width characters: how labels (environment, status, category,
    ticket_id, workflow_version, resolution_status) are stored and filtered."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value.translate(ZERO_WIDTH))
    return value


# A filter on a label column, normalised as the stored labels are.
LabelQueryText = Annotated[QueryText, BeforeValidator(normalise_label)]


def _to_utc(value: datetime) -> datetime:
    # PostgreSQL refuses offsets beyond ±15:59 that Python accepts (up to ±23:59), and
    # the edges of year 1 and 9999 cannot move to UTC: both are the client's mistake.
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range once converted to UTC") from exc


# An RFC 3339 time with a zone, normalised to UTC before it reaches the database.
UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

# Times a query may name. Ranges are computed from them (a default range of days
# before `to`, whole hours and days around both ends): inside these bounds none of
# that can leave the years datetime and PostgreSQL represent.
EARLIEST_QUERY_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_QUERY_TIME = datetime(9000, 1, 1, tzinfo=UTC)


def _in_query_range(value: datetime) -> datetime:
    if not EARLIEST_QUERY_TIME <= value <= LATEST_QUERY_TIME:
        raise ValueError(
            f"must be between {EARLIEST_QUERY_TIME.isoformat()} and {LATEST_QUERY_TIME.isoformat()}"
        )
    return value


QueryDateTime = Annotated[UtcDateTime, AfterValidator(_in_query_range)]

"""Types for query parameters shared by the routers."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


QueryText = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_no_nul)]

"""The logs contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from central_logger.http.query import (
    LabelQueryText,
    QueryDateTime,
    QueryText,
    UtcDateTime,
    normalise_label,
)

# Labels are normalised before their length is checked (docs/api.md): NFC, zero-width
# characters removed, so look-alike spellings are one label. (A BeforeValidator runs
# before everything to its left; placed before the constraints, it would disable them.)
Label = BeforeValidator(normalise_label)
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), Label
]
# Indexed columns: a btree entry must stay far below PostgreSQL's ~2.7 kB limit.
Text255 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), Label
]
Status = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=64),
    Label,
]

SUCCESS_STATUS = "SUCCESS"
MAX_EXECUTION_SECONDS = 366 * 86_400


class LogCreate(BaseModel):
    """One workflow run, as a client sends it. `client_id` comes from the API key."""

    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(
        None, description="Client-chosen id; a retry with it stores nothing new"
    )
    environment: ShortText
    executed_at: UtcDateTime
    status: Status = Field(description="Upper-cased; SUCCESS is success, anything else is not")
    workflow_version: Text255 | None = None
    ticket_id: Text255 | None = None
    # At most a year: sums of absurd values (1e308) would overflow the metric rollups.
    execution_time_seconds: (
        Annotated[float, Field(ge=0, le=MAX_EXECUTION_SECONDS, allow_inf_nan=False)] | None
    ) = None
    category: Text255 | None = None
    resolution_status: Text255 | None = None
    metrics: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None


class IngestResult(BaseModel):
    id: UUID
    duplicate: bool


class FieldErrorOut(BaseModel):
    field: str
    reason: str


class BatchItemResult(BaseModel):
    index: int
    id: UUID | None
    outcome: Literal["accepted", "duplicate", "rejected"]
    errors: list[FieldErrorOut] | None = None


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    items: list[BatchItemResult]


class LogSummary(BaseModel):
    id: UUID
    client_id: str
    environment: str
    workflow_version: str | None
    ticket_id: str | None
    executed_at: datetime
    execution_time_seconds: float | None
    status: str
    category: str | None
    resolution_status: str | None
    metrics: dict[str, Any] | None
    created_at: datetime


class LogDetail(LogSummary):
    payload: dict[str, Any] | None


class LogPage(BaseModel):
    items: list[LogSummary]
    page: int
    page_size: int
    total: int
    total_exact: bool = Field(description="False when more than COUNT_LIMIT rows match")
    next_cursor: str | None


LabelField = Literal["environment", "status", "category", "workflow_version", "resolution_status"]


class LogValuesParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: LabelField = Field(description="The label whose values to list")
    client_id: QueryText | None = Field(None, description="Admin keys only: one tenant")


class LogValues(BaseModel):
    field: LabelField
    values: list[str] = Field(description="In order; at most VALUES_LIMIT")
    complete: bool = Field(description="False when there are more values than listed")


class ClientSummary(BaseModel):
    client_id: str


class ClientList(BaseModel):
    items: list[ClientSummary]


def _has_a_word(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain a word")
    return value


# Normalised as stored labels are (a ticket id matches as written); NUL refused.
SearchText = Annotated[LabelQueryText, AfterValidator(_has_a_word)]


class LogFilters(BaseModel):
    """Query parameters that narrow the listing; every indexed column has one."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    environment: LabelQueryText | None = None
    status: LabelQueryText | None = None
    category: LabelQueryText | None = None
    ticket_id: LabelQueryText | None = None
    workflow_version: LabelQueryText | None = None
    resolution_status: LabelQueryText | None = None
    from_: QueryDateTime | None = Field(None, alias="from", description="executed_at >= from")
    to: QueryDateTime | None = Field(None, description="executed_at < to")
    min_execution_time: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    max_execution_time: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    client_id: QueryText | None = Field(None, description="Admin keys only: one tenant")
    q: SearchText | None = Field(
        None,
        description="Search: logs whose ticket id starts with it (case-insensitively), or"
        " whose words (ticket id, category, and the payload's text: step names, errors,"
        " inputs, outputs) include every word of it",
    )


class CursorPosition(BaseModel):
    """What a cursor decodes to; anything else in it is not a cursor this service issued."""

    model_config = ConfigDict(extra="forbid", strict=True)

    t: UtcDateTime  # executed_at of the last row
    i: UUID
    o: Literal["desc", "asc"]


class LogListParams(LogFilters):
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    page_size: Annotated[int, Field(ge=1, le=500)] = 50
    cursor: Annotated[str, StringConstraints(max_length=512)] | None = None
    order: Literal["desc", "asc"] = "desc"


class LogExportParams(LogFilters):
    """The list's filters and range, the file's format, and where to start: the
    `next_cursor` of a list page, or of an export the cap cut short."""

    format: Literal["jsonl", "csv"] = Field(
        "jsonl", description="jsonl: whole logs; csv: list columns"
    )
    order: Literal["desc", "asc"] = "desc"
    cursor: Annotated[str, StringConstraints(max_length=512)] | None = None

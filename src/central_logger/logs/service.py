"""The rules of ingestion and reading. Knows no HTTP framework."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.auth import service as keys_service
from central_logger.auth.tenancy import Tenancy
from central_logger.db import partitions
from central_logger.http.json_checks import JsonLimits
from central_logger.http.offload import CpuOffload
from central_logger.http.problems import FieldError, ProblemError, validation_problem
from central_logger.logs import events, paging, preparation, repository
from central_logger.logs.models import LogQuery, LogRow, Position, TenantRow
from central_logger.logs.preparation import PreparedBatch, PreparedLog, unpack
from central_logger.logs.schemas import (
    ClientList,
    ClientSummary,
    CursorPosition,
    IngestResult,
    LabelField,
    LogDetail,
    LogFilters,
    LogListParams,
    LogValues,
)
from central_logger.logs.writer import LogWriter
from central_logger.observability import metrics as observed


async def prepare_log(
    offload: CpuOffload,
    text: bytes,
    *,
    limits: JsonLimits,
    max_future: timedelta,
    max_age: timedelta | None = None,
) -> PreparedLog:
    """The body parsed and validated: in a worker process when it is large."""
    return await offload.run(len(text), preparation.prepare_log, text, limits, max_future, max_age)


async def store_log(writer: LogWriter, *, client_id: str, prepared: PreparedLog) -> IngestResult:
    if prepared.row is None:
        observed.count_rejected("invalid")
        raise validation_problem([FieldError(field=f, reason=r) for f, r in prepared.errors])
    row = unpack(prepared.row)
    inserted = await writer.store(client_id, [row])
    duplicate = row.id not in inserted
    observed.count_ingested(accepted=int(not duplicate), duplicate=int(duplicate))
    return IngestResult(id=row.id, duplicate=duplicate)


async def prepare_batch(
    offload: CpuOffload,
    text: bytes,
    *,
    limits: JsonLimits,
    max_batch_size: int,
    max_future: timedelta,
    max_age: timedelta | None = None,
) -> PreparedBatch:
    """Every item parsed and validated: in a worker process when the body is large (a
    1000-log batch was ~30 ms of CPU in one piece for the event loop's thread)."""
    try:
        return await offload.run(
            len(text), preparation.prepare_batch, text, limits, max_batch_size, max_future, max_age
        )
    except ProblemError as exc:
        if exc.status == 413:  # counted here: the worker process has no metrics of its own
            observed.count_rejected("too_large")
        raise


# Rows unpacked between two yields of the event loop: well under a millisecond.
_ROWS_PER_TURN = 200


async def store_batch(
    writer: LogWriter, *, client_id: str, prepared: PreparedBatch
) -> dict[str, Any]:
    """Store every valid item; report the others by index. One bad item never costs
    its siblings their place. The answer is `BatchResult`'s JSON shape, built as plain
    data: 1000 items through the model cost ~5 ms of the event loop in one go."""
    items: list[dict[str, Any]] = [{} for _ in range(prepared.size)]
    for index, errors in prepared.rejected:
        items[index] = {
            "index": index,
            "id": None,
            "outcome": "rejected",
            "errors": [{"field": field, "reason": reason} for field, reason in errors],
        }
    to_insert: list[LogRow] = []
    first_index_of: dict[UUID, int] = {}
    for count, (index, packed) in enumerate(prepared.rows):
        if count and count % _ROWS_PER_TURN == 0:
            await asyncio.sleep(0)
        row = unpack(packed)
        # The same id twice in one batch: the first is the log, the rest are replays.
        outcome = "duplicate" if row.id in first_index_of else "accepted"
        if outcome == "accepted":
            first_index_of[row.id] = index
            to_insert.append(row)
        items[index] = {"index": index, "id": row.id, "outcome": outcome, "errors": None}

    inserted = await writer.store(client_id, to_insert)
    accepted = len(to_insert)
    for row in to_insert:
        if row.id not in inserted:
            items[first_index_of[row.id]]["outcome"] = "duplicate"
            accepted -= 1
    rejected = len(prepared.rejected)
    observed.count_ingested(accepted=accepted, duplicate=prepared.size - accepted - rejected)
    observed.count_rejected("invalid", rejected)
    return {
        "accepted": accepted,
        "duplicates": prepared.size - accepted - rejected,
        "rejected": rejected,
        "items": items,
    }


def encode_cursor(position: Position, *, order: str) -> str:
    raw = orjson.dumps({"t": position.executed_at.isoformat(), "i": str(position.id), "o": order})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, order: str) -> Position:
    def invalid(reason: str) -> ProblemError:
        return validation_problem([FieldError(field="query.cursor", reason=reason)])

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        # The whole decoded structure is validated: any other shape is the client's.
        decoded = CursorPosition.model_validate_json(raw)
    except (binascii.Error, ValueError) as exc:  # ValidationError is a ValueError
        raise invalid("not a cursor this service issued") from exc
    if decoded.o != order:
        raise invalid(f"was issued for order={decoded.o}; send the same order")
    return Position(decoded.t, decoded.i)


def log_query(tenancy: Tenancy, filters: LogFilters) -> LogQuery:
    return LogQuery(
        client_id=tenancy.client_id,
        environment=filters.environment,
        status=filters.status.upper() if filters.status else None,
        category=filters.category,
        ticket_id=filters.ticket_id,
        workflow_version=filters.workflow_version,
        resolution_status=filters.resolution_status,
        executed_from=filters.from_,
        executed_to=filters.to,
        min_execution_time=filters.min_execution_time,
        max_execution_time=filters.max_execution_time,
        q=filters.q.strip() if filters.q else None,
    )


async def list_logs(
    conn: AsyncConnection, *, tenancy: Tenancy, params: LogListParams, count_limit: int
) -> dict[str, Any]:
    """A page in the shape of `LogPage`. Rows go out as the database returns them:
    validating 500 rows through the model cost more than the query itself."""
    query = log_query(tenancy, params)
    after = decode_cursor(params.cursor, order=params.order) if params.cursor else None
    page = await paging.read_page(
        conn,
        query=query,
        newest_first=params.order == "desc",
        after=after,
        offset=0 if after else (params.page - 1) * params.page_size,
        limit=params.page_size + 1,
        count_limit=count_limit + 1,
    )
    items = page.items[: params.page_size]
    next_cursor = None
    if len(page.items) > params.page_size:
        last = items[-1]
        next_cursor = encode_cursor(Position(last["executed_at"], last["id"]), order=params.order)
    counted = page.matching or 0
    return {
        "items": items,
        "page": params.page,
        "page_size": params.page_size,
        "total": min(counted, count_limit),
        "total_exact": counted <= count_limit,
        "next_cursor": next_cursor,
    }


# How many tenants a 409 for a shared id names (the tenants are the provider's own).
_MAX_HOLDERS_NAMED = 20


async def get_log(conn: AsyncConnection, *, tenancy: Tenancy, log_id: UUID) -> LogDetail:
    rows = await repository.select_one(conn, client_id=tenancy.client_id, log_id=log_id)
    if not rows:
        # Another tenant's id is as unknown as an id nobody used.
        raise ProblemError(404, f"No log with id {log_id}")
    if len(rows) > 1:
        # Ids are the clients' own, so two tenants may share one. An admin reading across
        # tenants must say whose log it means: answering with either would let a tenant
        # that knows another's id shadow that log in the provider's view.
        holders = await repository.select_holders(conn, log_id=log_id, limit=_MAX_HOLDERS_NAMED)
        named = ", ".join(holders)
        raise ProblemError(
            409,
            f"Log id {log_id} is used by more than one client ({named}):"
            " pass client_id to choose one",
            errors=[FieldError(field="query.client_id", reason=f"required: one of {named}")],
        )
    return LogDetail.model_validate(dict(rows[0]))


# A pick-list longer than this is a search box's job.
VALUES_LIMIT = 500


async def list_values(conn: AsyncConnection, *, tenancy: Tenancy, field: LabelField) -> LogValues:
    """The values of a label the tenant's logs use (every tenant's for an admin key
    without client_id), for the dashboard's pick-lists."""
    found = await repository.select_values(
        conn, client_id=tenancy.client_id, field=field, limit=VALUES_LIMIT + 1
    )
    return LogValues(field=field, values=found[:VALUES_LIMIT], complete=len(found) <= VALUES_LIMIT)


async def store_trace_logs(
    conn: AsyncConnection, *, client_id: str, rows: Sequence[LogRow], publish: bool = False
) -> None:
    """Store the log each trace makes, or refresh its payload when a later export brings
    more of the trace's spans (the fields the metrics count stay as first stored). The
    days' partitions are made sure of once for the export, not once per trace."""
    if not rows:
        return
    await partitions.ensure_days(conn, {partitions.day_of(row.executed_at) for row in rows})
    stored = []
    for row in rows:
        if await repository.upsert_refreshing_payload(conn, client_id=client_id, row=row):
            stored.append(TenantRow(client_id, row))
    # The live tail (when on) hears of the new logs at commit (a refreshed payload is no
    # new log).
    if publish:
        await repository.notify_stored(
            conn, channel=events.CHANNEL, chunks=events.notification_chunks(stored)
        )


async def list_clients(conn: AsyncConnection, *, configured: set[str]) -> ClientList:
    """Tenants with logs, with keys in the store, or configured in API_KEYS."""
    client_ids = (
        configured
        | set(await repository.select_client_ids(conn))
        | set(await keys_service.client_ids_with_keys(conn))
    )
    return ClientList(items=[ClientSummary(client_id=c) for c in sorted(client_ids)])

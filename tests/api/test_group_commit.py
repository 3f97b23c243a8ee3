"""Group commit: concurrent ingestion requests share an insert, and still each get
their own answer, their own tenant, and their own failure."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.logs import repository
from central_logger.logs.models import LogRow, TenantRow
from central_logger.logs.writer import LogWriter
from tests.support.api import wait_until
from tests.support.factories import a_log, with_id
from tests.support.tenants import TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth


@pytest.fixture
def insert_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of rows of each insert statement the writer runs (the real insert)."""
    calls: list[int] = []
    real_insert = repository.insert_rows

    async def counting_insert(
        conn: AsyncConnection, rows: Sequence[TenantRow]
    ) -> set[tuple[str, uuid.UUID]]:
        calls.append(len(rows))
        return await real_insert(conn, rows)

    monkeypatch.setattr(repository, "insert_rows", counting_insert)
    return calls


async def all_queued_then_inserted(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, requests: list[Awaitable[httpx.Response]]
) -> list[httpx.Response]:
    """Send `requests` at once with every insert held until all of them have reached the
    writer: they queue up whatever the scheduling, so sharing inserts is certain (a
    barrier, not the luck of requests arriving during a flush)."""
    writer: LogWriter = app.state.central_logger.log_writer
    released = asyncio.Event()
    reached = 0
    real_store, real_insert = writer.store, repository.insert_rows

    async def counted_store(client_id: str, rows: Sequence[LogRow]) -> set[uuid.UUID]:
        nonlocal reached
        reached += 1
        return await real_store(client_id, rows)

    async def held_insert(
        conn: AsyncConnection, rows: Sequence[TenantRow]
    ) -> set[tuple[str, uuid.UUID]]:
        await released.wait()
        return await real_insert(conn, rows)

    monkeypatch.setattr(writer, "store", counted_store)
    monkeypatch.setattr(repository, "insert_rows", held_insert)
    sent = asyncio.gather(*requests)

    async def all_reached() -> bool:
        return reached == len(requests)

    await wait_until(all_reached, f"all {len(requests)} requests reached the writer")
    released.set()
    return list(await sent)


def tenants_of(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT client_id, count(*) FROM workflow_logs GROUP BY 1").fetchall()
    return {client_id: count for client_id, count in rows}


async def test_concurrent_requests_of_two_tenants_share_inserts_and_keep_their_tenant(
    app: FastAPI,
    client: httpx.AsyncClient,
    empty_database: str,
    insert_calls: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = [TENANT_A_KEY, TENANT_B_KEY] * 20
    responses = await all_queued_then_inserted(
        app,
        monkeypatch,
        [client.post("/api/v1/logs", json=a_log(ticket_id=key), headers=auth(key)) for key in keys],
    )
    assert [r.status_code for r in responses] == [201] * 40
    assert sum(insert_calls) == 40
    assert len(insert_calls) < 40, "no two requests shared an insert"
    assert tenants_of(empty_database) == {TENANT_A: 20, TENANT_B: 20}
    # Each tenant sees its own 20, all sent with its own key.
    for key in (TENANT_A_KEY, TENANT_B_KEY):
        page = (
            await client.get("/api/v1/logs", params={"page_size": 100}, headers=auth(key))
        ).json()
        assert len(page["items"]) == 20
        assert {item["ticket_id"] for item in page["items"]} == {key}


async def test_the_same_id_sent_concurrently_is_created_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    empty_database: str,
    insert_calls: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = with_id()
    responses = await all_queued_then_inserted(
        app,
        monkeypatch,
        [client.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY)) for _ in range(10)],
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 9 + [201]
    assert sum(r.json()["duplicate"] for r in responses) == 9
    assert len(insert_calls) < 10
    assert tenants_of(empty_database) == {TENANT_A: 1}


async def test_the_same_id_from_two_tenants_is_two_logs(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    log = with_id()
    responses = await asyncio.gather(
        client.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY)),
        client.post("/api/v1/logs", json=log, headers=auth(TENANT_B_KEY)),
    )
    assert [r.status_code for r in responses] == [201, 201]
    assert tenants_of(empty_database) == {TENANT_A: 1, TENANT_B: 1}


async def test_batches_and_single_logs_share_inserts(
    app: FastAPI,
    client: httpx.AsyncClient,
    empty_database: str,
    insert_calls: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requests: list[Any] = [
        client.post(
            "/api/v1/logs/batch", json={"logs": [a_log()] * 50}, headers=auth(TENANT_A_KEY)
        ),
        *(client.post("/api/v1/logs", json=a_log(), headers=auth(TENANT_B_KEY)) for _ in range(5)),
    ]
    responses = await all_queued_then_inserted(app, monkeypatch, requests)
    assert responses[0].json()["accepted"] == 50
    assert [r.status_code for r in responses[1:]] == [201] * 5
    assert tenants_of(empty_database) == {TENANT_A: 50, TENANT_B: 5}
    assert len(insert_calls) < 6


def a_row(**changes: Any) -> LogRow:
    row = LogRow(
        id=uuid.uuid4(),
        environment="production",
        workflow_version=None,
        ticket_id=None,
        executed_at=datetime.now(UTC),
        execution_time_seconds=1.0,
        status="SUCCESS",
        category=None,
        resolution_status=None,
        metrics_json=None,
        payload_json=None,
    )
    return dataclasses.replace(row, **changes)


async def test_a_request_the_database_refuses_fails_alone(
    app: FastAPI, empty_database: str, insert_calls: list[int]
) -> None:
    writer: LogWriter = app.state.central_logger.log_writer
    good_a, good_b = a_row(), a_row()
    # Validation refuses NUL before rows get here; the database refuses it too.
    refused = a_row(environment="bad\x00environment")
    results = await asyncio.gather(
        writer.store(TENANT_A, [good_a]),
        writer.store(TENANT_B, [refused]),
        writer.store(TENANT_A, [good_b]),
        return_exceptions=True,
    )
    assert results[0] == {good_a.id}
    assert isinstance(results[1], DataError)
    assert results[2] == {good_b.id}
    assert insert_calls[0] == 3, "the three requests did not share the first insert"
    assert tenants_of(empty_database) == {TENANT_A: 2}


async def test_close_stores_what_is_waiting(app: FastAPI, empty_database: str) -> None:
    engine = app.state.central_logger.engine
    writer = LogWriter(engine, flushers=1)
    writer.start()
    rows = [a_row() for _ in range(3)]
    pending = [asyncio.ensure_future(writer.store(TENANT_B, [row])) for row in rows]
    await asyncio.sleep(0)  # the stores are queued, not yet flushed
    await writer.close()
    # Bounded: a close that forgot the queue would leave these waiting for ever.
    stored = await asyncio.wait_for(asyncio.gather(*pending), timeout=10)
    assert stored == [{row.id} for row in rows]
    assert tenants_of(empty_database) == {TENANT_B: 3}

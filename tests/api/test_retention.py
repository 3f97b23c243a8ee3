"""Retention: per-tenant policies, a run on a clock the test controls, refusals at
ingestion, and the admin API and CLI that set policies."""

from __future__ import annotations

import functools
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from central_logger.db import partitions
from central_logger.db.engine import create_maintenance_engine
from central_logger.retention import service
from central_logger.retention.schemas import RetentionRunReport
from central_logger.settings import Settings
from tests.support.api import run_cli
from tests.support.factories import with_id
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth


@functools.cache
def module_now() -> datetime:
    """The tests' "now": taken when the first test asks, not at import (collection can
    run long before), and then the same for every test of the module."""
    return datetime.now(UTC)


DAYS_OF_DATA = 40
HOURS = (1, 9, 17)  # three logs a day, spread over the UTC day
POLICIES = {"r3": 3, "r7": 7, "r30": 30}
KEEPER = "keeper"  # the default policy, with logs of the last two days only


def _times(days: int) -> list[datetime]:
    return [module_now() - timedelta(days=d, hours=h) for d in range(days) for h in HOURS]


def _logs(times: list[datetime]) -> list[dict[str, Any]]:
    return [with_id(executed_at=t.isoformat()) for t in times]


@pytest.fixture
async def retention_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_maintenance_engine(settings, settings.database_url or "")
    yield engine
    await engine.dispose()


async def _run(engine: AsyncEngine, settings: Settings, now: datetime) -> RetentionRunReport:
    return await service.run_retention(
        engine,
        defaults=service.Defaults(settings.retention_days, settings.rollup_retention_days),
        now=now,
        batch_rows=7,  # small, so a run takes many bounded deletes
    )


def _counts(database_url: str, query: str) -> Counter[str]:
    with psycopg.connect(database_url) as conn:
        conn.execute("SELECT set_config('app.is_admin', 'on', false)")
        return Counter({row[0]: row[1] for row in conn.execute(query)})


def _stored(database_url: str) -> Counter[str]:
    return _counts(database_url, "SELECT client_id, count(*) FROM workflow_logs GROUP BY 1")


def _ids(database_url: str) -> Counter[str]:
    return _counts(database_url, "SELECT client_id, count(*) FROM workflow_log_ids GROUP BY 1")


def _rollup_runs(database_url: str, since: datetime | None = None) -> Counter[str]:
    where = "" if since is None else f"WHERE day >= '{since.isoformat()}'"
    return _counts(
        database_url,
        f"SELECT client_id, sum(runs)::int FROM workflow_log_rollup_daily {where} GROUP BY 1",
    )


def _expected(now: datetime, days: int | None, times: list[datetime]) -> int:
    return sum(1 for t in times if days is None or t >= now - timedelta(days=days))


async def _ingest(client: httpx.AsyncClient, tenant: str, logs: list[dict[str, Any]]) -> None:
    response = await client.post(
        "/api/v1/logs/batch",
        params={"client_id": tenant},
        json={"logs": logs},
        headers=auth(ADMIN_KEY),
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(logs), response.text


async def test_policies_of_3_7_and_30_days_over_40_days_of_data(
    client: httpx.AsyncClient,
    settings: Settings,
    retention_engine: AsyncEngine,
    empty_database: str,
) -> None:
    times = _times(DAYS_OF_DATA)
    keeper_times = _times(2)
    for tenant in POLICIES:
        await _ingest(client, tenant, _logs(times))
    keeper_logs = _logs(keeper_times)
    await _ingest(client, KEEPER, keeper_logs)
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("SELECT workflow_log_rollup_fold()")
    all_runs = _rollup_runs(empty_database)
    assert all_runs == {**{t: len(times) for t in POLICIES}, KEEPER: len(keeper_times)}
    for tenant, days in POLICIES.items():
        # r7's charts are kept 10 days; the others' the default, longer than the data.
        body = {"logs_days": days} | ({"rollup_days": 10} if tenant == "r7" else {})
        response = await client.put(
            f"/api/v1/admin/retention/{tenant}", json=body, headers=auth(ADMIN_KEY)
        )
        assert response.status_code == 200, response.text

    for offset_days in (0, 5, 12):
        now = module_now() + timedelta(days=offset_days)
        report = await _run(retention_engine, settings, now)
        assert report.ran
        stored = _stored(empty_database)
        expected = {t: _expected(now, d, times) for t, d in POLICIES.items()}
        assert {t: stored[t] for t in POLICIES} == expected, offset_days
        # No other tenant touched; every id leaves with its log and only then.
        assert stored[KEEPER] == len(keeper_times)
        assert _ids(empty_database) == stored
        # Rollups outlive the logs: the charts still count every run...
        runs = _rollup_runs(empty_database)
        assert runs["r3"] == runs["r30"] == len(times)
        assert runs[KEEPER] == len(keeper_times)
        # ...except r7's, kept 10 days: whole days older than that are gone.
        cutoff = now - timedelta(days=10)
        assert runs["r7"] == _rollup_runs(empty_database, since=cutoff)["r7"]
        assert runs["r7"] < len(times)
        # Whole days expired for every tenant in them left as tables, not row by row.
        async with retention_engine.connect() as conn:
            left = await partitions.list_partitions(conn)
        oldest_kept = now - timedelta(days=30)
        assert all(p.attached for p in left)
        assert all(p.end > oldest_kept for p in left), [p.name for p in left]
        if offset_days == 0:
            assert report.partitions_dropped, "the 10 days older than 30 left whole"
            assert report.logs_deleted["r3"] > 0
            assert report.logs_deleted["r7"] > 0

    # The survivors are readable; a deleted log is as gone as one never sent.
    survivors = await client.get(
        "/api/v1/logs", params={"client_id": "r30", "page_size": 200}, headers=auth(ADMIN_KEY)
    )
    assert survivors.json()["total"] == _expected(module_now() + timedelta(days=12), 30, times)
    newest = survivors.json()["items"][0]["id"]
    detail = await client.get(
        f"/api/v1/logs/{newest}", params={"client_id": "r30"}, headers=auth(ADMIN_KEY)
    )
    assert detail.status_code == 200

    # A day retention dropped is made again for a tenant that may still keep it.
    old_day = _logs([module_now() - timedelta(days=35)])
    await _ingest(client, KEEPER, old_day)
    again = await client.get(
        f"/api/v1/logs/{old_day[0]['id']}", params={"client_id": KEEPER}, headers=auth(ADMIN_KEY)
    )
    assert again.status_code == 200


async def test_a_run_cut_short_is_finished_by_the_next(
    client: httpx.AsyncClient,
    settings: Settings,
    retention_engine: AsyncEngine,
    empty_database: str,
) -> None:
    """A partition detached (as a crash mid-drop leaves it) still has its ids: the next
    run forgets them and drops it."""
    day = partitions.day_of(module_now() - timedelta(days=50))
    times = [partitions.day_start(day) + timedelta(hours=h) for h in HOURS]
    await _ingest(client, "r3", _logs(times))
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE workflow_logs DETACH PARTITION {partitions.partition_name(day)}")
    assert _ids(empty_database)["r3"] == len(times)
    report = await _run(retention_engine, settings, module_now())
    assert partitions.partition_name(day) in report.partitions_dropped
    assert _ids(empty_database)["r3"] == 0


async def test_one_run_at_a_time(
    settings: Settings, retention_engine: AsyncEngine, empty_database: str
) -> None:
    with psycopg.connect(empty_database, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(hashtext('central_logger_retention'))")
        report = await _run(retention_engine, settings, module_now())
    assert not report.ran


def _one_span_export(trace_id: str, at: datetime) -> bytes:
    """An OTLP/JSON export of one root span (a whole trace) started at `at`."""
    start = int(at.timestamp() * 1e9)
    span = {
        "traceId": trace_id,
        "spanId": "a" * 16,
        "name": "run",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 10**9),
    }
    return orjson.dumps(
        {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}]}
    )


async def test_logs_older_than_the_tenant_retention_are_refused_everywhere(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    set_policy = await client.put(
        f"/api/v1/admin/retention/{TENANT_A}", json={"logs_days": 3}, headers=auth(ADMIN_KEY)
    )
    assert set_policy.status_code == 200
    old = (module_now() - timedelta(days=4)).isoformat()
    single = await client.post(
        "/api/v1/logs", json=with_id(executed_at=old), headers=auth(TENANT_A_KEY)
    )
    assert single.status_code == 422
    error = single.json()["errors"][0]
    assert error["field"] == "executed_at"
    assert "retention of 3 days" in error["reason"]

    batch = await client.post(
        "/api/v1/logs/batch",
        json={"logs": [with_id(), with_id(executed_at=old)]},
        headers=auth(TENANT_A_KEY),
    )
    outcomes = [item["outcome"] for item in batch.json()["items"]]
    assert outcomes == ["accepted", "rejected"]
    assert batch.json()["items"][1]["errors"][0]["field"] == "executed_at"

    # A batch over 64 kB is validated in a worker process (http/offload.py): the same.
    large = [with_id(payload={"pad": "x" * 400}) for _ in range(200)] + [with_id(executed_at=old)]
    large_batch = await client.post(
        "/api/v1/logs/batch", json={"logs": large}, headers=auth(TENANT_A_KEY)
    )
    assert (large_batch.json()["accepted"], large_batch.json()["rejected"]) == (200, 1)
    assert large_batch.json()["items"][200]["errors"][0]["field"] == "executed_at"

    # Another tenant's retention is its own: the default lets B keep 4-day-old logs.
    other = await client.post(
        "/api/v1/logs", json=with_id(executed_at=old), headers=auth(TENANT_B_KEY)
    )
    assert other.status_code == 201

    # OpenTelemetry: the trace whose root is too old is a rejected span, not an error.
    trace_id = uuid.uuid4().hex
    body = _one_span_export(trace_id, module_now() - timedelta(days=4))
    otlp = await client.post(
        "/v1/traces",
        content=body,
        headers={**auth(TENANT_A_KEY), "Content-Type": "application/json"},
    )
    assert otlp.status_code == 200
    partial = otlp.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "retention of 3 days" in partial["errorMessage"]

    # Back on the default, the same log is accepted.
    cleared = await client.delete(f"/api/v1/admin/retention/{TENANT_A}", headers=auth(ADMIN_KEY))
    assert cleared.status_code == 200
    assert cleared.json()["source"] == "default"
    again = await client.post(
        "/api/v1/logs", json=with_id(executed_at=old), headers=auth(TENANT_A_KEY)
    )
    assert again.status_code == 201
    # A trace of a day no partition was made for yet is stored all the same.
    old_trace = uuid.uuid4().hex
    stored = await client.post(
        "/v1/traces",
        content=_one_span_export(old_trace, module_now() - timedelta(days=200)),
        headers={**auth(TENANT_A_KEY), "Content-Type": "application/json"},
    )
    assert stored.status_code == 200
    assert "partialSuccess" not in stored.json() or not stored.json()["partialSuccess"]
    log = await client.get(f"/api/v1/logs/{uuid.UUID(hex=old_trace)}", headers=auth(TENANT_A_KEY))
    assert log.status_code == 200


async def test_a_tenant_reads_only_its_own_policy(client: httpx.AsyncClient) -> None:
    await client.put(
        f"/api/v1/admin/retention/{TENANT_B}", json={"logs_days": 9}, headers=auth(ADMIN_KEY)
    )
    own = await client.get("/api/v1/retention", headers=auth(TENANT_A_KEY))
    assert own.status_code == 200
    assert own.json()["client_id"] == TENANT_A
    assert own.json()["source"] == "default"
    theirs = await client.get(
        "/api/v1/retention", params={"client_id": TENANT_B}, headers=auth(TENANT_A_KEY)
    )
    assert theirs.status_code == 403
    b = await client.get("/api/v1/retention", headers=auth(TENANT_B_KEY))
    assert (b.json()["logs_days"], b.json()["source"]) == (9, "client")
    for method, path in (
        ("GET", "/api/v1/admin/retention"),
        ("PUT", f"/api/v1/admin/retention/{TENANT_A}"),
        ("DELETE", f"/api/v1/admin/retention/{TENANT_B}"),
    ):
        response = await client.request(
            method, path, json={"logs_days": 1}, headers=auth(TENANT_A_KEY)
        )
        assert response.status_code == 403, (method, path)
    # An admin key reads one client's, or (no client) the default.
    as_admin = await client.get(
        "/api/v1/retention", params={"client_id": TENANT_B}, headers=auth(ADMIN_KEY)
    )
    assert (as_admin.json()["client_id"], as_admin.json()["logs_days"]) == (TENANT_B, 9)
    default = await client.get("/api/v1/retention", headers=auth(ADMIN_KEY))
    assert (default.json()["client_id"], default.json()["source"]) == (None, "default")
    listing = await client.get("/api/v1/admin/retention", headers=auth(ADMIN_KEY))
    assert [p["client_id"] for p in listing.json()["items"]] == [TENANT_B]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"logs_days": 0}, "body.logs_days"),
        ({"logs_days": 40000}, "body.logs_days"),
        ({"logs_days": "ten"}, "body.logs_days"),
        ({}, "body.logs_days"),
        ({"logs_days": 30, "rollup_days": 10}, "body"),
        ({"logs_days": 30, "extra": 1}, "body.extra"),
    ],
)
async def test_bad_policies_are_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await client.put(
        f"/api/v1/admin/retention/{TENANT_A}", json=body, headers=auth(ADMIN_KEY)
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    missing = await client.delete("/api/v1/admin/retention/nobody", headers=auth(ADMIN_KEY))
    assert missing.status_code == 404


async def test_cli_sets_lists_runs_and_clears(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    code, out, err = await run_cli(empty_database, "retention", "set", "cli_tenant", "--days", "3")
    assert code == 0, err
    assert "cli_tenant" in out
    assert "3 d" in out
    code, out, _ = await run_cli(
        empty_database, "retention", "set", "x", "--days", "5", "--rollup-days", "2"
    )
    assert code == 2
    code, out, _ = await run_cli(empty_database, "retention", "list")
    assert "(default)" in out
    assert "cli_tenant" in out
    code, out, err = await run_cli(empty_database, "retention", "run")
    assert code == 0, err
    assert "dropped" in out
    code, out, _ = await run_cli(empty_database, "retention", "clear", "cli_tenant")
    assert code == 0
    code, _, _ = await run_cli(empty_database, "retention", "clear", "cli_tenant")
    assert code == 1

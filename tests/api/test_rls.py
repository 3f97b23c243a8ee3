"""Isolation enforced by PostgreSQL itself: the service's connections act as a role that
does not bypass row-level security, each transaction states its tenant, and queries that
forget the tenant filter still see only that tenant's rows."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from central_logger.db.tenancy import APP_ROLE, state_tenant
from central_logger.http.state import AppState
from central_logger.logs import repository as logs_repository
from central_logger.logs.models import LogQuery
from tests.support.factories import a_log
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth

# Tables with a client_id column that are deliberately not under row-level security:
# the key directory is read by hash before any tenant is known, and the audit trail is
# the provider's own (admin-only through the API).
# The provider's own tables: keys, the audit trail, and the retention each client is
# given (read by the service for a tenant through its own filter).
NOT_TENANT_TABLES = {"api_keys", "audit_events", "retention_policies"}


def _state(app: FastAPI) -> AppState:
    state: AppState = app.state.central_logger
    return state


@pytest.fixture
async def two_tenants(client: httpx.AsyncClient) -> None:
    for key, n in ((TENANT_A_KEY, 3), (TENANT_B_KEY, 2)):
        batch = [a_log() for _ in range(n)]
        response = await client.post("/api/v1/logs/batch", json=batch, headers=auth(key))
        assert response.json()["accepted"] == n


async def _unfiltered(app: FastAPI, client_id: str | None, table: str) -> list[Any]:
    async with _state(app).engine.begin() as conn:
        await state_tenant(conn, client_id)
        result = await conn.execute(text(f"SELECT client_id FROM {table}"))  # no WHERE
        return sorted(row[0] for row in result)


@pytest.mark.usefixtures("two_tenants")
async def test_unfiltered_queries_see_only_the_stated_tenant(app: FastAPI) -> None:
    assert await _unfiltered(app, TENANT_A, "workflow_logs") == [TENANT_A] * 3
    assert await _unfiltered(app, TENANT_B, "workflow_logs") == [TENANT_B] * 2
    assert await _unfiltered(app, None, "workflow_logs") == [TENANT_A] * 3 + [TENANT_B] * 2
    async with _state(app).engine.begin() as conn:
        # Nothing stated: nothing visible.
        assert (await conn.execute(text("SELECT count(*) FROM workflow_logs"))).scalar() == 0


@pytest.mark.usefixtures("two_tenants")
async def test_rollup_tables_are_isolated_too(app: FastAPI) -> None:
    for table in ("workflow_log_rollup_pending", "workflow_log_rollup_histogram_pending"):
        assert set(await _unfiltered(app, TENANT_B, table)) == {TENANT_B}
        assert set(await _unfiltered(app, None, table)) == {TENANT_A, TENANT_B}
    async with _state(app).engine.begin() as conn:
        # The fold states admin for itself: called with no tenant, it still moves all.
        folded = await conn.execute(text("SELECT workflow_log_rollup_fold()"))
        assert folded.scalar() == 2
    for folded_into in ("hourly", "daily", "histogram_hourly", "histogram_daily"):
        table = f"workflow_log_rollup_{folded_into}"
        assert set(await _unfiltered(app, TENANT_A, table)) == {TENANT_A}
        assert set(await _unfiltered(app, None, table)) == {TENANT_A, TENANT_B}


async def test_a_tenant_cannot_write_another_tenants_rows(app: FastAPI) -> None:
    async with _state(app).engine.begin() as conn:
        await state_tenant(conn, TENANT_A)
        with pytest.raises(DBAPIError, match="row-level security"):
            await conn.execute(
                text(
                    "INSERT INTO workflow_logs (id, client_id, environment, executed_at, status)"
                    " VALUES (gen_random_uuid(), :other, 'p', now(), 'OK')"
                ),
                {"other": TENANT_B},
            )


@pytest.mark.usefixtures("two_tenants")
async def test_the_stated_tenant_ends_with_the_transaction(app: FastAPI) -> None:
    engine = _state(app).engine
    async with engine.begin() as conn:
        await state_tenant(conn, TENANT_A)
    async with engine.begin() as conn:
        setting = await conn.execute(text("SELECT current_setting('app.client_id', true)"))
        assert setting.scalar() in (None, "")
        assert (await conn.execute(text("SELECT count(*) FROM workflow_logs"))).scalar() == 0


async def test_service_connections_act_as_a_non_bypass_role(app: FastAPI) -> None:
    async with _state(app).engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT current_user, r.rolsuper, r.rolbypassrls FROM pg_roles r"
                    " WHERE r.rolname = current_user"
                )
            )
        ).one()
    assert tuple(row) == (APP_ROLE, False, False)


async def test_every_tenant_table_is_under_forced_rls(empty_database: str) -> None:
    with psycopg.connect(empty_database) as conn:
        rows = conn.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'client_id'
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
            """
        ).fetchall()
    tenant_tables = {r[0]: r[1:] for r in rows if r[0] not in NOT_TENANT_TABLES}
    assert "workflow_logs" in tenant_tables
    assert "workflow_log_rollup_hourly" in tenant_tables
    assert {name: flags for name, flags in tenant_tables.items() if flags != (True, True, 1)} == {}


@pytest.mark.usefixtures("two_tenants")
async def test_a_request_whose_query_forgets_the_tenant_still_sees_only_its_own(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repository's tenant filter is removed; the database still isolates."""
    filters_sent: list[str] = []

    class WithoutTenant(logs_repository._Where):
        def __init__(self, query: LogQuery) -> None:
            super().__init__(dataclasses.replace(query, client_id=None))
            filters_sent.append(self.sql)

    monkeypatch.setattr(logs_repository, "_Where", WithoutTenant)
    page = (await client.get("/api/v1/logs", headers=auth(TENANT_B_KEY))).json()
    assert [i["client_id"] for i in page["items"]] == [TENANT_B] * 2
    assert page["total"] == 2
    admin = (await client.get("/api/v1/logs", headers=auth(ADMIN_KEY))).json()
    assert admin["total"] == 5
    narrowed = (
        await client.get(f"/api/v1/logs?client_id={TENANT_A}", headers=auth(ADMIN_KEY))
    ).json()
    assert {i["client_id"] for i in narrowed["items"]} == {TENANT_A}
    # The filter really was removed: without row-level security these would leak. (At
    # least one filter per request: a list reads one per day partition it visits, and
    # how many days have partitions depends on the tests that ran before this one.)
    assert len(filters_sent) >= 3
    assert all("client_id" not in sql for sql in filters_sent)

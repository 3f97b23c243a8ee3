"""The app over ASGI, on the suite's database, emptied before every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY


@pytest.fixture
def empty_database(database_url: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE workflow_logs, workflow_log_ids, api_keys, workflow_log_rollup_pending, "
            "workflow_log_rollup_hourly, workflow_log_rollup_daily, audit_events, "
            "workflow_log_rollup_histogram_pending, workflow_log_rollup_histogram_hourly, "
            "workflow_log_rollup_histogram_daily, retention_policies"
        )
    return database_url


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change the app's settings."""
    return {}


@pytest.fixture
def settings(empty_database: str, settings_overrides: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {
        "database_url": empty_database,
        "environment": "development",
        "api_keys": {TENANT_A_KEY: TENANT_A, TENANT_B_KEY: TENANT_B},
        "admin_api_keys": [ADMIN_KEY],
        "key_cache_ttl_seconds": 0.5,
        # Tests send logs of fixed dates (the seed's examples): keep them whatever today is.
        # test_retention sets its own policies.
        "retention_days": 3650,
        **settings_overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, migrate=False)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http

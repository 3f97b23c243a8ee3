"""Calls the API suite makes in many files: ship logs, count stored rows, run the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psycopg
from typer.testing import CliRunner

from central_logger.cli import app as cli
from tests.support.tenants import TENANT_A_KEY, auth

runner = CliRunner()


async def ship(
    client: httpx.AsyncClient, logs: list[dict[str, Any]], key: str = TENANT_A_KEY
) -> list[str]:
    """POST a batch that must be stored whole; the stored ids, in order."""
    response = await client.post("/api/v1/logs/batch", json=logs, headers=auth(key))
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 0, response.text
    return [item["id"] for item in response.json()["items"]]


def row_count(database_url: str) -> int:
    """Every tenant's stored logs (the suite's own connection bypasses row security)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM workflow_logs").fetchone()
        assert row is not None
        return int(row[0])


async def run_cli(database_url: str, *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(
        runner.invoke, cli, list(args), env={"DATABASE_URL": database_url}
    )
    return result.exit_code, result.stdout, result.stderr


async def create_key(database_url: str, *args: str) -> str:
    code, out, err = await run_cli(database_url, "keys", "create", *args)
    assert code == 0, err
    return out.strip()


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, *, within_seconds: float = 15.0
) -> None:
    """A barrier on an observable state instead of a sleep sized for the machine: poll
    `condition` until it holds, failing with `what` after `within_seconds` (far beyond
    what a healthy run needs; never a figure the test asserts)."""
    try:
        async with asyncio.timeout(within_seconds):
            # Polled, not an Event: the state lives in another system (HTTP, the database).
            while True:
                if await condition():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {within_seconds} s: {what}") from None

"""Large ingestion bodies are parsed and validated in a worker process (http/offload.py):
the same answers as in a thread, problems that cross the process boundary whole, and a
dead worker that costs one 503, not the service."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from central_logger.http.offload import CpuOffload
from central_logger.http.problems import FieldError, ProblemError
from central_logger.ratelimit.dependencies import UNBUDGETED_BODY_BYTES
from tests.support.api import row_count
from tests.support.factories import a_log, with_id
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth

PADDING = "p" * 200  # so that 400 items are well over the offload threshold


def _large_mixed_batch(stored_before: dict[str, Any]) -> list[dict[str, Any]]:
    repeated = with_id()
    items = [a_log(ticket_id=f"T-{i}", payload={"pad": PADDING}) for i in range(400)]
    items[1] = a_log(status=...)
    items[2] = stored_before
    items[3] = a_log(executed_at="2026-01-01T00:00:00")
    items[4] = a_log(payload={"x": "\u0000"})
    items[5] = repeated
    items[6] = repeated
    return items


async def _check_mixed_batch_answer(client: httpx.AsyncClient, empty_database: str) -> None:
    rows_before = row_count(empty_database)
    stored_before = with_id()
    first = await client.post("/api/v1/logs", json=stored_before, headers=auth(TENANT_A_KEY))
    assert first.status_code == 201
    items = _large_mixed_batch(stored_before)
    body = httpx.Request("POST", "/", json={"logs": items}).read()
    assert len(body) > UNBUDGETED_BODY_BYTES

    response = await client.post(
        "/api/v1/logs/batch", json={"logs": items}, headers=auth(TENANT_A_KEY)
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (395, 2, 3)
    assert [item["index"] for item in result["items"]] == list(range(400))
    outcomes = [item["outcome"] for item in result["items"][:8]]
    assert outcomes == [
        "accepted",
        "rejected",
        "duplicate",
        "rejected",
        "rejected",
        "accepted",
        "duplicate",
        "accepted",
    ]
    assert result["items"][1] == {
        "index": 1,
        "id": None,
        "outcome": "rejected",
        "errors": [{"field": "status", "reason": "Field required"}],
    }
    assert result["items"][3]["errors"][0]["field"] == "executed_at"
    assert result["items"][4]["errors"][0]["field"] == "payload.x"
    assert result["items"][2]["id"] == stored_before["id"]
    assert result["items"][5]["id"] == result["items"][6]["id"] == items[5]["id"]
    assert result["items"][0]["errors"] is None
    assert row_count(empty_database) == rows_before + 1 + 395
    detail = await client.get(
        f"/api/v1/logs/{result['items'][399]['id']}", headers=auth(TENANT_A_KEY)
    )
    assert detail.status_code == 200
    assert detail.json()["payload"] == {"pad": PADDING}
    assert detail.json()["ticket_id"] == "T-399"
    # Another tenant does not see them.
    other = await client.get(
        f"/api/v1/logs/{result['items'][399]['id']}", headers=auth(TENANT_B_KEY)
    )
    assert other.status_code == 404


async def test_a_large_batch_is_prepared_in_a_worker_process(
    client: httpx.AsyncClient, app: FastAPI, empty_database: str
) -> None:
    offload: CpuOffload = app.state.central_logger.offload
    small = await client.post(
        "/api/v1/logs/batch", json=[a_log(), a_log()], headers=auth(TENANT_A_KEY)
    )
    assert small.json()["accepted"] == 2
    assert not offload.started  # a small body stays in a thread
    await _check_mixed_batch_answer(client, empty_database)
    assert offload.started


@pytest.mark.parametrize("settings_overrides", [{"parse_processes": 0}])
async def test_without_worker_processes_a_large_batch_gets_the_same_answer(
    client: httpx.AsyncClient, app: FastAPI, empty_database: str, settings_overrides: Any
) -> None:
    await _check_mixed_batch_answer(client, empty_database)
    assert not app.state.central_logger.offload.started


async def test_a_large_single_log_is_refused_with_its_field_from_the_worker(
    client: httpx.AsyncClient, app: FastAPI, empty_database: str
) -> None:
    log = a_log(payload={"a": ["x" * 100] * 1000, "b": "\u0000"})
    response = await client.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "payload.b"
    assert app.state.central_logger.offload.started
    stored = await client.post(
        "/api/v1/logs", json=a_log(payload={"a": ["x" * 100] * 1000}), headers=auth(TENANT_A_KEY)
    )
    assert stored.status_code == 201
    assert row_count(empty_database) == 1


def test_a_problem_crosses_a_process_boundary_whole() -> None:
    problem = ProblemError(
        429,
        "slow down",
        errors=[FieldError(field="rate.ingest", reason="spent")],
        headers={"Retry-After": "3"},
    )
    copy = pickle.loads(pickle.dumps(problem))
    assert (copy.status, copy.detail, copy.errors, copy.headers) == (
        429,
        "slow down",
        [FieldError(field="rate.ingest", reason="spent")],
        {"Retry-After": "3"},
    )


async def test_work_runs_in_a_process_only_over_the_threshold() -> None:
    offload = CpuOffload(processes=1, min_bytes=100)
    try:
        assert await offload.run(100, os.getpid) == os.getpid()
        assert not offload.started
        worker = await offload.run(101, os.getpid)
        assert worker != os.getpid()
        assert await offload.run(101, os.getpid) == worker  # the pool is kept
    finally:
        offload.close()


async def test_a_dead_worker_costs_a_503_and_the_next_body_gets_a_new_one() -> None:
    offload = CpuOffload(processes=1, min_bytes=0)
    try:
        first = await offload.run(1, os.getpid)
        with pytest.raises(ProblemError) as caught:
            await offload.run(1, os._exit, 1)  # the worker process dies mid-work
        assert caught.value.status == 503
        assert caught.value.headers["Retry-After"] == "1"
        second = await offload.run(1, os.getpid)
        assert second not in (first, os.getpid())
    finally:
        offload.close()


_SERVICE = """
import asyncio, os, sys, time
from central_logger.http.offload import CpuOffload

async def main():
    offload = CpuOffload(processes=1, min_bytes=0)
    print(await offload.run(1, os.getpid), flush=True)
    time.sleep(60)

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers: it has ended, its parent has not reaped it yet.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_workers_end_with_a_killed_service_process() -> None:
    service = subprocess.Popen([sys.executable, "-c", _SERVICE], stdout=subprocess.PIPE, text=True)
    try:
        assert service.stdout is not None
        worker = int(service.stdout.readline())
        assert worker != service.pid
        assert _alive(worker)
    finally:
        service.kill()  # SIGKILL: no shutdown runs
        service.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the parse worker outlived its service process"

"""Nested steps (issue 14): a step made inside another step's block names it as its
``parent``, so the dashboard draws the run as a tree; steps of concurrent asyncio
tasks nest under their own task's step. Against the real service."""

from __future__ import annotations

import asyncio
from typing import Any

from central_logger_client import AsyncCentralLogger, CentralLogger

from .conftest import Service

API_KEY = "shipper_key"  # the key conftest.py gives the service
FAST: dict[str, Any] = {"flush_interval": 0.2, "backoff_base": 0.1, "max_backoff": 1.0}


def test_a_step_inside_a_step_names_its_parent(service: Service, environment: str) -> None:
    client = CentralLogger(service.url, API_KEY, environment=environment, **FAST)
    with client.run(ticket_id="NEST-1") as run:
        with run.step("classify"):
            with run.step("call_model"):
                pass
            run.step("parse", output="billing")
        run.step("reply")
    assert client.flush(10)
    client.close(5)
    trace = service.log(run.id)["payload"]["trace"]
    by_name = {s["name"]: s for s in trace}
    assert [s["name"] for s in trace] == ["classify", "call_model", "parse", "reply"]
    assert by_name["classify"]["id"] == "step-1"
    assert "parent" not in by_name["classify"]
    assert by_name["call_model"]["parent"] == "step-1"
    assert by_name["parse"]["parent"] == "step-1"
    # A step beside the others carries neither field, as before.
    assert "id" not in by_name["reply"]
    assert "parent" not in by_name["reply"]


def test_concurrent_tasks_nest_under_their_own_step(service: Service, environment: str) -> None:
    async def main() -> str:
        client = AsyncCentralLogger(service.url, API_KEY, environment=environment, **FAST)
        async with client.run(ticket_id="NEST-2") as run:

            async def branch(name: str) -> None:
                async with run.step(name):
                    await asyncio.sleep(0.01)
                    async with run.step(f"{name}-inner"):
                        await asyncio.sleep(0.01)

            await asyncio.gather(branch("left"), branch("right"))
        assert await client.flush(10)
        await client.aclose(5)
        return run.id

    run_id = asyncio.run(main())
    trace = service.log(run_id)["payload"]["trace"]
    by_name = {s["name"]: s for s in trace}
    assert by_name["left-inner"]["parent"] == by_name["left"]["id"]
    assert by_name["right-inner"]["parent"] == by_name["right"]["id"]
    assert by_name["left"]["id"] != by_name["right"]["id"]

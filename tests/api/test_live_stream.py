"""GET /api/v1/logs/stream on the real service (`central-logger serve --workers 2`) and
PostgreSQL: logs stored through single, batch and OTLP ingestion reach every matching
stream whichever worker stored them; two tenants ingesting at once see only their own;
filters apply; a slow reader is told how many it missed; Last-Event-ID resumes, and a
resume point not held is a `gap`; limits answer 429; SIGTERM ends streams at once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import secrets
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.support.factories import a_log
from tests.support.live import ServeProcess

KEY_A = "stream_key_a"
KEY_B = "stream_key_b"
ADMIN = "stream_key_admin"
HEADER = "X-API-Key"
BUFFER_EVENTS = 1000
PER_KEY = 3
# Generous for a loaded machine: a wait that long means the event never comes.
WAIT_SECONDS = 30


def _env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "production",
        "API_KEYS": json.dumps({KEY_A: "tenant_a", KEY_B: "tenant_b"}),
        "ADMIN_API_KEYS": json.dumps([ADMIN]),
        "CENTRAL_LOGGER_DATA_DIR": str(workdir),
        "RETENTION_DAYS": "3650",
        "STREAM_BUFFER_EVENTS": str(BUFFER_EVENTS),
        "STREAM_MAX_PER_KEY": str(PER_KEY),
        "LOG_LEVEL": "warning",
        "LIVE_TAIL_ENABLED": "true",
        **extra,
    }


@pytest.fixture(scope="module")
def service(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One service of two workers for the module; each test tells its logs apart by a
    ticket id of its own."""
    workdir = tmp_path_factory.mktemp("stream")
    serve = ServeProcess(_env(database_url, workdir), workdir / "serve.log", "--workers", "2")
    try:
        serve.wait_healthy()
        yield serve.url
    finally:
        serve.stop()


def ticket() -> str:
    return f"T-{secrets.token_hex(4)}"


@dataclasses.dataclass
class Event:
    event: str
    data: Any
    id: str | None


class Stream:
    """An SSE client: reads events into a queue in the background."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        last_event_id: str | None = None,
        refusable: bool = False,
        **params: str,
    ) -> None:
        self.refusable = refusable
        self.url = url
        self.headers = {HEADER: key, "Accept": "text/event-stream"}
        if last_event_id is not None:
            self.headers["Last-Event-ID"] = last_event_id
        self.params = params
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._stack = contextlib.AsyncExitStack()
        self.status = 0

    async def __aenter__(self) -> Stream:
        http = await self._stack.enter_async_context(httpx.AsyncClient(timeout=None))
        response = await self._stack.enter_async_context(
            http.stream(
                "GET", f"{self.url}/api/v1/logs/stream", params=self.params, headers=self.headers
            )
        )
        self.status = response.status_code
        if response.status_code != 200:
            await response.aread()
            assert self.refusable, response.text
            self.response = response
            return self
        task = asyncio.create_task(self._read(response))
        self._stack.push_async_callback(_cancelled, task)
        ready = await self.next()
        assert ready.event == "ready", ready
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._stack.aclose()

    async def _read(self, response: httpx.Response) -> None:
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line == "":
                if "event" in fields or "data" in fields:
                    data = fields.get("data")
                    await self.events.put(
                        Event(
                            fields.get("event", "message"),
                            data and json.loads(data),
                            fields.get("id"),
                        )
                    )
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        await self.events.put(Event("end", None, None))

    async def next(self) -> Event:
        return await asyncio.wait_for(self.events.get(), WAIT_SECONDS)

    async def logs_until(self, sentinel_ticket: str) -> list[Event]:
        """Every event up to the log whose ticket is `sentinel_ticket` (stored last: events
        come in commit order, so nothing stored before it can come after)."""
        seen: list[Event] = []
        while True:
            try:
                event = await self.next()
            except TimeoutError:
                raise AssertionError(f"{sentinel_ticket} never came after {seen}") from None
            assert event.event != "end", seen
            seen.append(event)
            if event.event == "log" and event.data["ticket_id"] == sentinel_ticket:
                return seen


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
        await task


async def post(http: httpx.AsyncClient, path: str, key: str, body: Any, **kw: Any) -> Any:
    response = await http.post(path, json=body, headers={HEADER: key}, **kw)
    assert response.status_code in (200, 201), response.text
    return response.json()


def otlp_trace(ticket_id: str) -> tuple[dict[str, Any], str]:
    trace_id = uuid.uuid4()
    now = time.time_ns() - 60 * 10**9
    span = {
        "traceId": trace_id.hex,
        "spanId": secrets.token_hex(8),
        "name": "triage-ticket",
        "startTimeUnixNano": str(now),
        "endTimeUnixNano": str(now + 10**9),
        "attributes": [{"key": "workflow.ticket_id", "value": {"stringValue": ticket_id}}],
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "triage"}}]}
    body = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}
    return body, str(trace_id)


async def test_every_ingestion_path_reaches_matching_streams_of_their_tenant_only(
    service: str,
) -> None:
    run = ticket()  # every log of this test carries it, as its ticket or in its category
    async with (
        Stream(service, KEY_A, category=run) as a_all,
        Stream(service, KEY_A, category=run, status="FAILED") as a_failed,
        Stream(service, KEY_B, category=run) as b_all,
        Stream(service, ADMIN, category=run) as admin_all,
        Stream(service, ADMIN, category=run, client_id="tenant_b") as admin_b,
        httpx.AsyncClient(base_url=service, timeout=30) as http,
    ):
        failed_ids: set[str] = set()

        async def tenant(key: str) -> list[str]:
            ids: list[str] = []
            for i in range(10):  # one request after another: both workers store some
                log = a_log(category=run, status=("SUCCESS", "FAILED")[i % 2])
                ids.append((await post(http, "/api/v1/logs", key, log))["id"])
                if i % 2:
                    failed_ids.add(ids[-1])
            batch = [a_log(category=run, status="FAILED") for _ in range(30)]
            result = await post(http, "/api/v1/logs/batch", key, batch)
            ids += [item["id"] for item in result["items"]]
            failed_ids.update(item["id"] for item in result["items"])
            return ids

        a_ids, b_ids = await asyncio.gather(tenant(KEY_A), tenant(KEY_B))
        end_a, end_b = f"{run}-end-a", f"{run}-end-b"
        # Last, and FAILED: every stream of the test matches them.
        end = {"category": run, "status": "FAILED"}
        await post(http, "/api/v1/logs", KEY_A, a_log(**end, ticket_id=end_a))
        await post(http, "/api/v1/logs", KEY_B, a_log(**end, ticket_id=end_b))

        a_events = await a_all.logs_until(end_a)
        assert all(e.event == "log" for e in a_events), [e for e in a_events if e.event != "log"]
        assert {e.data["client_id"] for e in a_events} == {"tenant_a"}
        assert [e.id for e in a_events if e.id] == [e.id for e in a_events]
        assert {e.data["id"] for e in a_events} == {*a_ids, _id_of(a_events, end_a)}
        assert all(e.event == "log" for e in a_events)

        failed = await a_failed.logs_until(end_a)
        assert {e.data["id"] for e in failed[:-1]} == failed_ids & set(a_ids)
        assert {e.data["status"] for e in failed[:-1]} == {"FAILED"}

        b_events = await b_all.logs_until(end_b)
        assert {e.data["client_id"] for e in b_events} == {"tenant_b"}
        assert {e.data["id"] for e in b_events[:-1]} == set(b_ids)

        admin_b_events = await admin_b.logs_until(end_b)
        assert {e.data["id"] for e in admin_b_events[:-1]} == set(b_ids)

        # The admin sees both tenants; the same log has the same id on every stream.
        by_id = {e.data["id"]: e.id for e in a_events}
        seen_by_admin: dict[str, str | None] = {}
        while len(seen_by_admin) < len(a_ids) + len(b_ids) + 2:
            event = await admin_all.next()
            seen_by_admin[event.data["id"]] = event.id
        assert set(a_ids) | set(b_ids) <= set(seen_by_admin)
        assert all(seen_by_admin[i] == by_id[i] for i in a_ids)

    # OTLP: a trace becomes a log, heard of once its export's transaction commits.
    async with (
        Stream(service, KEY_A, ticket_id=run) as by_ticket,
        Stream(service, KEY_B, ticket_id=run) as other_tenant,
        httpx.AsyncClient(base_url=service, timeout=30) as http,
    ):
        body, trace_log_id = otlp_trace(run)
        await post(http, "/v1/traces", KEY_A, body)
        await post(http, "/api/v1/logs", KEY_B, a_log(ticket_id=run, category="b-end"))
        assert (await other_tenant.next()).data["category"] == "b-end"
        event = await by_ticket.next()
        assert event.event == "log"
        assert event.data["id"] == trace_log_id
        assert event.data["client_id"] == "tenant_a"


def _id_of(events: list[Event], ticket_id: str) -> str:
    return next(e.data["id"] for e in events if e.data["ticket_id"] == ticket_id)


async def test_last_event_id_resumes_without_loss_and_a_gap_is_said(service: str) -> None:
    run = ticket()
    async with httpx.AsyncClient(base_url=service, timeout=30) as http:
        async with Stream(service, KEY_A, ticket_id=run) as first:
            await post(http, "/api/v1/logs/batch", KEY_A, [a_log(ticket_id=run) for _ in range(5)])
            received = [await first.next() for _ in range(5)]
        last = received[2].id
        assert last is not None
        # Stored while no stream was open.
        later = await post(
            http, "/api/v1/logs/batch", KEY_A, [a_log(ticket_id=run) for _ in range(4)]
        )
        await asyncio.sleep(0.5)  # heard by every worker (the notification is async)
        # Several reconnects: whichever worker takes them, each holds the same events.
        for _ in range(4):
            async with Stream(service, KEY_A, last_event_id=last, ticket_id=run) as resumed:
                replayed = [await resumed.next() for _ in range(6)]
                assert [e.id for e in replayed[:2]] == [e.id for e in received[3:]]
                assert [e.data["id"] for e in replayed[2:]] == [i["id"] for i in later["items"]]

        async with Stream(service, KEY_A, last_event_id="1-1-0", ticket_id=run) as unknown:
            gap = await unknown.next()
            assert gap.event == "gap"
            assert gap.data["last_event_id"] == "1-1-0"
            # Then live events as usual.
            await post(http, "/api/v1/logs", KEY_A, a_log(ticket_id=run))
            assert (await unknown.next()).event == "log"


async def test_a_slow_reader_is_told_what_it_missed_and_others_are_not_slowed(
    service: str,
) -> None:
    run = ticket()
    port = int(service.rsplit(":", 1)[1])
    slow = socket.socket()
    # A tiny receive window, and nothing read: the server's writes back up at once.
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    slow.connect(("127.0.0.1", port))
    head = f"GET /api/v1/logs/stream?ticket_id={run} HTTP/1.1\r\nHost: x\r\n{HEADER}: {KEY_B}"
    slow.sendall(f"{head}\r\n\r\n".encode())
    slow.setblocking(False)
    try:
        # Subscribed (its `ready` came); from here on it reads nothing.
        await _drain(slow, until=b"event: ready")
        async with (
            Stream(service, KEY_B, ticket_id=run) as fast,
            httpx.AsyncClient(base_url=service, timeout=30) as http,
        ):
            total = 0
            # ~4 MB of events: more than the socket buffers on both sides hold.
            for _ in range(20):
                batch = [a_log(ticket_id=run) for _ in range(500)]
                total += (await post(http, "/api/v1/logs/batch", KEY_B, batch))["accepted"]
                await asyncio.sleep(0.2)  # the fast reader's bursts stay within its buffer
            # The fast reader gets every one, without a missed event.
            got = [await fast.next() for _ in range(total)]
            assert {e.event for e in got} == {"log"}

            # Now the slow one reads: what it buffered, then how many it missed.
            text = await _drain(slow, until=b"event: missed")
    finally:
        slow.close()
    # Chunked transfer encoding: each event is one chunk, whole.
    missed = [
        json.loads(block.split("data: ", 1)[1].split("\n", 1)[0])["missed"]
        for block in text.split("event: ")
        if block.startswith("missed")
    ]
    logs = text.count("event: log")
    assert missed, text[-2000:]
    # Every log is accounted for: delivered (the buffer, what the sockets held) or missed.
    assert logs + sum(missed) == total
    assert logs < total


async def _drain(sock: socket.socket, *, until: bytes) -> str:
    loop = asyncio.get_running_loop()
    received = b""
    deadline = loop.time() + WAIT_SECONDS
    while until not in received or not received.endswith(b"\n\n"):
        assert loop.time() < deadline, received[-2000:]
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), 2)
        except TimeoutError:
            break
        if not chunk:
            break
        received += chunk
    return received.decode(errors="replace")


async def test_streams_beyond_the_limits_are_429_and_bad_input_is_4xx(service: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(PER_KEY * 2 + 1):  # both workers at their limit
            stream = await stack.enter_async_context(Stream(service, ADMIN, refusable=True))
            if stream.status == 429:
                break
        else:
            pytest.fail("no stream was refused")
        assert stream.response.headers["retry-after"].isdigit()
        assert stream.response.json()["errors"][0]["field"] == "rate.streams"
        # Another key is not held back by this one's streams.
        async with Stream(service, KEY_A) as other:
            assert other.status == 200, other.response.text

    async with httpx.AsyncClient(base_url=service, timeout=10) as http:
        no_key = await http.get("/api/v1/logs/stream")
        assert no_key.status_code == 401
        other_tenant = await http.get(
            "/api/v1/logs/stream", params={"client_id": "tenant_b"}, headers={HEADER: KEY_A}
        )
        assert other_tenant.status_code == 403
        bad = await http.get(
            "/api/v1/logs/stream", params={"from": "yesterday"}, headers={HEADER: KEY_A}
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "query.from"
        unknown = await http.get(
            "/api/v1/logs/stream", params={"page": "2"}, headers={HEADER: KEY_A}
        )
        assert unknown.status_code == 422


async def test_sigterm_ends_open_streams_and_the_service_at_once(
    empty_database: str, tmp_path: Path
) -> None:
    """SHUTDOWN_TIMEOUT_SECONDS is long (60): an exit without its "exceeded" message
    means the streams ended on their own when the signal came."""
    env = _env(
        empty_database,
        tmp_path,
        SHUTDOWN_TIMEOUT_SECONDS="60",
        LOG_LEVEL="info",
        SERVICE_NAME="sigterm-test",
    )
    serve = ServeProcess(env, tmp_path / "serve.log", "--workers", "2")
    try:
        await asyncio.to_thread(serve.wait_healthy)
        async with Stream(serve.url, KEY_A) as one, Stream(serve.url, KEY_B) as two:
            serve.process.send_signal(signal.SIGTERM)
            for stream in (one, two):
                assert (await stream.next()).event == "bye"
                assert (await stream.next()).event == "end"
        code = await asyncio.to_thread(serve.process.wait, 50)
    finally:
        serve.stop()
    output = serve.text()
    assert code == 0, output[-3000:]
    assert "timeout graceful shutdown exceeded" not in output
    assert "Exception in ASGI application" not in output
    # The listening connections closed with their workers.
    with psycopg.connect(empty_database) as conn:
        listening = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sigterm-test-listen'"
        ).fetchone()
    assert listening == (0,)

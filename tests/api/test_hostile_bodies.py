"""Hostile request bodies (issue 12): every check on a body is bounded, so one tenant's
bodies leave another tenant's read p95 within a stated ratio of its unloaded p95; each
body gets its own exact 4xx; gzip is checked to its end; a client that leaves
mid-upload is no error."""

from __future__ import annotations

import gzip
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest

from central_logger.http.json_checks import JsonLimits, check_text, check_value, neutralised
from central_logger.http.json_checks import nul_path as find_nul_path
from central_logger.http.problems import ProblemError
from tests.support.factories import a_log
from tests.support.live import LiveProcess
from tests.support.tenants import TENANT_A_KEY, TENANT_B_KEY, auth

JSON = {**auth(TENANT_A_KEY), "Content-Type": "application/json"}
LIMIT = 5 * 1024 * 1024
HEAD = orjson.dumps(
    {
        "environment": "production",
        "executed_at": datetime.now(UTC).isoformat(),
        "status": "SUCCESS",
        "category": "billing",
    }
)[:-1]


def _log_with(filler: bytes, note: bytes, size: int) -> bytes:
    """One log whose payload holds `filler` repeated to `size` bytes, then `note` last."""
    head = HEAD + b',"payload":{"a":['
    tail = b'],"note":' + note + b"}}"
    return head + filler * ((size - len(head) - len(tail)) // len(filler)) + b"0" + tail


def _batch_with(filler: bytes, note: bytes, size: int, items: int = 100) -> bytes:
    logs = [_log_with(filler, b'"ok"', size // items)] * (items - 1)
    return b'{"logs":[' + b",".join([*logs, _log_with(filler, note, size // items)]) + b"]}"


NUL = b'"x\\u0000"'
LONG = b'"' + b"y" * 70_000 + b'"'
DUPLICATE = b'{"x": 1, "x": 2}'


# --- each check's answer on the adversarial shapes (what the text and value decide) ---


def _check(raw: bytes, limits: JsonLimits | None = None) -> None:
    limits = limits or JsonLimits()
    neutral = neutralised(raw)
    structure = check_text(neutral, limits)
    check_value(raw, neutral, structure, orjson.loads(raw), limits)


def _refusal(raw: bytes, limits: JsonLimits | None = None) -> tuple[int, str, str]:
    with pytest.raises(ProblemError) as caught:
        _check(raw, limits)
    return caught.value.status, caught.value.errors[0].field, caught.value.detail


# ~100k values each: under the value limit, so every check runs to the end.
SHAPES = {
    "tiny-arrays": b"[0],",
    "nested-arrays": b"[[[[1,2]]]],",
    "short-strings": b'"a",',
    "tiny-objects": b'{"a": 0}, ',
    "colon-strings": b'"12:30",',
}


@pytest.mark.parametrize("filler", SHAPES.values(), ids=SHAPES.keys())
def test_long_string_at_the_end_is_named_by_its_path(filler: bytes) -> None:
    assert _refusal(_log_with(filler, LONG, 400_000))[:2] == (422, "payload.note")
    batch = _batch_with(filler, LONG, 400_000)
    assert _refusal(batch)[:2] == (422, "logs.99.payload.note")


@pytest.mark.parametrize("filler", SHAPES.values(), ids=SHAPES.keys())
def test_duplicate_key_at_the_end_is_named(filler: bytes) -> None:
    status, field, detail = _refusal(_log_with(filler, DUPLICATE, 400_000))
    assert (status, field) == (422, "body")
    assert "'x'" in detail


@pytest.mark.parametrize("filler", SHAPES.values(), ids=SHAPES.keys())
def test_nul_at_the_end_is_found_with_its_path(filler: bytes) -> None:
    log = orjson.loads(_log_with(filler, NUL, 400_000))
    _check(orjson.dumps(log))  # a NUL is the item's matter, not the body's
    assert find_nul_path(log) == ["payload", "note"]
    log["payload"]["a"].append({"k\u0000": 1})
    del log["payload"]["note"]
    assert find_nul_path(log) == ["payload", "a", len(log["payload"]["a"]) - 1, "k\\u0000"]
    log["payload"]["a"][-1] = {"k": 1}
    assert find_nul_path(log) is None


def test_the_checks_accept_clean_bodies_of_every_shape() -> None:
    for filler in SHAPES.values():
        _check(_log_with(filler, b'"ok"', 400_000))
    # Long runs outside strings, and strings near the limit, are not long strings.
    _check(orjson.dumps({"a": [1] * 60_000, "s": "z" * 65_536}))


def test_escapes_make_text_longer_than_its_string() -> None:
    # 70,000 bytes of text, 10,000 characters: no refusal.
    _check(b'{"s": "' + b"\\u0041\\u0042" * 5_000 + b'", "n": [' + b"0," * 30_000 + b"0]}")
    status, field, _ = _refusal(b'{"t": ["' + "é".encode() * 65_537 + b'"]}')
    assert (status, field) == (422, "t.0")


def test_deep_nesting_anywhere_is_refused() -> None:
    deep = b"[" * 40 + b"]" * 40
    assert _refusal(b'{"a": [' + b"0," * 50_000 + deep + b"]}")[:2] == (422, "body")
    # Brackets inside strings neither count nor hide.
    _check(b'{"s": ["' + b"[" * 100 + b'", "]]]", "{"]}')


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": [' + b"[0]," * 200_000 + b"0]}",
        b'{"a": [' + b'"1:2",' * 300_000 + b"0]}",
        b"{" + b",".join(b'"k%d": 0' % i for i in range(130_000)) + b"}",
    ],
    ids=["arrays", "strings-holding-colons", "keys"],
)
def test_more_values_than_the_limit_is_413_before_the_parse(body: bytes) -> None:
    assert _refusal(body, JsonLimits(max_values=250_000))[:2] == (413, "body")


def test_the_value_count_ignores_what_strings_hold() -> None:
    _check(orjson.dumps({"csv": "a,b:[{" * 10_000 + "x"}), JsonLimits(max_values=10))


# --- over HTTP, on a live server: the exact answer, and the other tenant's latency ---


@pytest.fixture
def server(empty_database: str, tmp_path: Path) -> Iterator[LiveProcess]:
    """The app in its own process: the measuring client must not share its GIL."""
    env = {
        "DATABASE_URL": empty_database,
        "ENVIRONMENT": "development",
        "API_KEYS": orjson.dumps({TENANT_A_KEY: "tenant_a", TENANT_B_KEY: "tenant_b"}).decode(),
        "ADMIN_API_KEYS": "[]",
    }
    with LiveProcess(env, tmp_path / "server.log") as live:
        yield live


def _rows(database_url: str, client_id: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM workflow_logs WHERE client_id = %s", (client_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def _read_latencies(url: str, stop: threading.Event, samples: list[float]) -> None:
    with httpx.Client(base_url=url, headers=auth(TENANT_B_KEY), timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = client.get("/api/v1/logs", params={"page_size": 5})
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text


# (path, body, status, field): 5 MB bodies of the shapes, and bodies just under
# the value limit that every check must read to the end.
HOSTILE = [
    ("/api/v1/logs", _log_with(b"[[1,2,3],[4,5,6]],", NUL, LIMIT - 1000), 413, "body"),
    ("/api/v1/logs", _log_with(b"[0],", LONG, LIMIT - 80_000), 413, "body"),
    ("/api/v1/logs/batch", _batch_with(b'{"a": 0}, ', DUPLICATE, LIMIT - 1000), 413, "body"),
    ("/api/v1/logs", _log_with(b"[0],", NUL, 480_000), 422, "payload.note"),
    ("/api/v1/logs", _log_with(b'"a",', LONG, 900_000), 422, "payload.note"),
    ("/api/v1/logs/batch", _batch_with(b"[0],", LONG, 480_000), 422, "logs.99.payload.note"),
]


def _send_hostile(client: httpx.Client, path: str, body: bytes, status: int, field: str) -> None:
    response = client.post(path, content=body, headers=JSON)
    assert response.status_code == status, response.text[:300]
    assert response.json()["errors"][0]["field"] == field, response.text[:300]


# The target. Measured on the 2-core development machine, 19 runs, idle and
# loaded by other jobs: 1.2-3.1x (e.g. p95 15 -> 45 ms, 21 -> 41 ms). Large bodies are
# parsed and validated in a worker process (http/offload.py), so the service's event
# loop only hands them over. Before that, one body's parse held the GIL for up to
# ~250 ms: 16-24x on an idle machine (and 235x with the first, unbounded checks).
RATIO_BOUND = 5


def test_hostile_bodies_leave_another_tenants_reads_within_bound(
    server: LiveProcess, empty_database: str
) -> None:
    live = server.url
    with httpx.Client(base_url=live, headers=auth(TENANT_B_KEY)) as client:
        stored = client.post("/api/v1/logs/batch", json=[a_log() for _ in range(20)])
        assert stored.json()["accepted"] == 20
        for _ in range(10):  # warm: connections, key cache, plans
            client.get("/api/v1/logs", params={"page_size": 5})

    def p95_while(load: Any) -> float:
        # Four readers, so that the short burst still yields a p95 and not one maximum.
        samples: list[float] = []
        stop = threading.Event()
        readers = [
            threading.Thread(target=_read_latencies, args=(live, stop, samples)) for _ in range(4)
        ]
        for reader in readers:
            reader.start()
        try:
            load()
        finally:
            stop.set()
            for reader in readers:
                reader.join()
        return _p95(samples)

    unloaded = p95_while(lambda: time.sleep(3))

    def hostile_load() -> None:
        # One client for all: each new one builds an SSL context, 30 ms of this
        # process's GIL that the measuring thread would wait for.
        with httpx.Client(base_url=live, timeout=120) as client, ThreadPoolExecutor(4) as pool:
            jobs = [
                pool.submit(_send_hostile, client, *HOSTILE[i % len(HOSTILE)]) for i in range(12)
            ]
            for job in jobs:
                job.result()

    started = time.perf_counter()
    loaded = p95_while(hostile_load)
    print(
        f"\nB read p95 {unloaded * 1000:.1f} -> {loaded * 1000:.1f} ms"
        f" ({loaded / unloaded:.1f}x); hostile burst {time.perf_counter() - started:.1f} s"
    )
    assert loaded <= RATIO_BOUND * unloaded, (
        f"tenant B's read p95 {loaded * 1000:.1f} ms under hostile bodies, "
        f"{unloaded * 1000:.1f} ms unloaded"
    )
    assert _rows(empty_database, "tenant_a") == 0


# --- gzip checked to its end ---


def _gzip_post(client: httpx.AsyncClient, content: bytes) -> Any:
    return client.post(
        "/api/v1/logs/batch", content=content, headers={**JSON, "Content-Encoding": "gzip"}
    )


def _batch_bytes(count: int) -> bytes:
    return orjson.dumps({"logs": [a_log(ticket_id=f"T-{i}") for i in range(count)]})


def _bad_crc(member: bytes) -> bytes:
    return member[:-8] + bytes([member[-8] ^ 0xFF]) + member[-7:]


def _bad_length(member: bytes) -> bytes:
    return member[:-4] + bytes([member[-4] ^ 0x01]) + member[-3:]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (gzip.compress(_batch_bytes(3))[:-8], "truncated"),  # no trailer at all
        (gzip.compress(_batch_bytes(3))[:-3], "truncated"),  # half a trailer
        (gzip.compress(_batch_bytes(3))[:40], "truncated"),  # mid-stream
        (_bad_crc(gzip.compress(_batch_bytes(3))), "data check"),
        (_bad_length(gzip.compress(_batch_bytes(3))), "length check"),
        (gzip.compress(_batch_bytes(3)) + b"garbage", "trailing data"),
        (gzip.compress(_batch_bytes(3)) + b"\x00" * 8, "trailing data"),
        (gzip.compress(_batch_bytes(3)) + gzip.compress(b"x")[:12], "truncated"),
    ],
    ids=[
        "no-trailer",
        "half-trailer",
        "mid-stream",
        "bad-crc",
        "bad-length",
        "trailing-garbage",
        "trailing-zeros",
        "truncated-second-member",
    ],
)
async def test_gzip_is_checked_to_its_end(
    client: httpx.AsyncClient, empty_database: str, content: bytes, reason: str
) -> None:
    response = await _gzip_post(client, content)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["errors"] == [{"field": "body", "reason": problem["errors"][0]["reason"]}]
    assert reason in problem["errors"][0]["reason"]
    assert _rows(empty_database, "tenant_a") == 0


async def test_every_gzip_member_is_read(client: httpx.AsyncClient, empty_database: str) -> None:
    # RFC 1952 allows several members; `gzip.decompress` reads them all, so do we.
    text = _batch_bytes(4)
    members = gzip.compress(text[:100]) + gzip.compress(text[100:200]) + gzip.compress(text[200:])
    assert gzip.decompress(members) == text
    response = await _gzip_post(client, members)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 4
    assert _rows(empty_database, "tenant_a") == 4


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 100_000}])
async def test_gzip_members_together_keep_the_decompressed_limit(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    # Each member alone is under the limit; together they are over it.
    part = b" " * 60_000
    members = gzip.compress(b'{"logs": [' + part) + gzip.compress(part + b"]}")
    assert len(members) < 1_000
    response = await _gzip_post(client, members)
    assert response.status_code == 413
    assert "decompressed" in response.json()["detail"]
    assert _rows(empty_database, "tenant_a") == 0


# --- a client that leaves mid-upload ---


def test_client_disconnect_mid_upload_is_not_an_error(
    server: LiveProcess, empty_database: str
) -> None:
    live = server.url
    body = orjson.dumps(a_log())
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.port)) as raw:
            raw.sendall(
                b"POST /api/v1/logs HTTP/1.1\r\nHost: x\r\n"
                b"X-API-Key: " + TENANT_A_KEY.encode() + b"\r\n"
                b"Content-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (len(body) + 1000) + body[:50]
            )
            time.sleep(0.3)  # the server is reading the body when the client leaves
    time.sleep(0.5)
    # The server keeps serving, stored nothing, and logged no error.
    response = httpx.post(f"{live}/api/v1/logs", json=a_log(), headers=auth(TENANT_A_KEY))
    assert response.status_code == 201
    assert _rows(empty_database, "tenant_a") == 1
    output = server.output()
    assert "Traceback" not in output, output
    assert "Exception in ASGI application" not in output, output
    assert "ClientDisconnect" not in output, output
    assert " 500" not in output, output

"""Hand-written hostile inputs that generators rarely produce. Each gets a 4xx with a
reason, never a 5xx, and nothing is stored. (Classes already covered in test_ingest.py,
such as NUL in values, a lone surrogate string, NaN, 1e400, 5000-deep arrays, a gzip bomb,
are not repeated here.)"""

from __future__ import annotations

import base64
import gzip
import http.client
import logging
import zlib
from datetime import datetime

import httpx
import orjson
import pytest
from fastapi import Request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.routing import Mount

from central_logger.db.engine import create_engine
from central_logger.main import create_app
from central_logger.settings import Settings
from tests.support.api import row_count
from tests.support.factories import a_log
from tests.support.live import LiveServer
from tests.support.tenants import TENANT_A_KEY, auth

JSON = {**auth(TENANT_A_KEY), "Content-Type": "application/json"}


def _log_bytes(**payload_override: object) -> bytes:
    return orjson.dumps(a_log(**payload_override))


def _with_duplicate(document: bytes, key: bytes, separator: bytes = b", ") -> bytes:
    """The document with `"key": "again"` added first inside its first object."""
    colon = b": " if separator == b", " else b":"
    return document.replace(b"{", b'{"' + key + b'"' + colon + b'"again"' + separator, 1)


def _nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


HOSTILE_BODIES = [
    # Duplicate keys: orjson would keep the last silently.
    pytest.param(_with_duplicate(_log_bytes(), b"status"), 422, "status", id="dup-top-level"),
    pytest.param(
        b'{"environment": "p", "executed_at": "2026-01-01T00:00:00Z", "status": "ok",'
        b' "payload": {"a": 1, "b": {"x": 1, "x": 2}}}',
        422,
        "'x'",
        id="dup-nested",
    ),
    pytest.param(
        b'{"environment": "p", "environment": "p", "executed_at": "2026-01-01T00:00:00Z",'
        b' "status": "ok"}',
        422,
        "environment",
        id="dup-same-value",
    ),
    pytest.param(
        b'{"environment": "p", "executed_at": "2026-01-01T00:00:00Z", "status": "ok",'
        b' "payload": {"k\\u0041": 1, "kA": 2}}',
        422,
        "kA",
        id="dup-escaped-spelling",
    ),
    # Depth between our limit (32) and orjson's own (1024).
    pytest.param(_log_bytes(payload=_nested(40)), 422, "deeper than 32", id="deep-object-40"),
    pytest.param(
        b'{"environment": "p", "executed_at": "2026-01-01T00:00:00Z", "status": "ok",'
        b' "metrics": {"a": ' + b"[" * 100 + b"]" * 100 + b"}}",
        422,
        "deeper than 32",
        id="deep-array-100",
    ),
    # Brackets inside strings must neither hide real depth nor count as depth.
    pytest.param(
        _log_bytes(payload={"s": "]]]]}}}}", "n": _nested(40)}),
        422,
        "deeper than 32",
        id="deep-object-beside-closing-brackets-in-a-string",
    ),
    pytest.param(_log_bytes(payload={"s": "x" * 70_000}), 422, "payload.s", id="long-string"),
    pytest.param(_log_bytes(payload={"k" * 70_000: 1}), 422, "longer than", id="long-key"),
    pytest.param(
        _log_bytes(payload={"s": '\\"' * 40_000}), 422, "payload.s", id="long-escaped-string"
    ),
    # Numbers and literals JSON does not have, or doubles cannot hold.
    pytest.param(b'{"a": Infinity}', 400, "json", id="infinity"),
    pytest.param(b'{"a": -Infinity}', 400, "json", id="minus-infinity"),
    pytest.param(b'{"a": nan}', 400, "json", id="lowercase-nan"),
    pytest.param(b'{"a": -1e400}', 400, "infinity", id="minus-overflow"),
    pytest.param(b'{"a": 1' + b"0" * 400 + b"}", 400, "infinity", id="400-digit-integer"),
    pytest.param(b'{"a": 0x10}', 400, "json", id="hex-number"),
    # Unicode that PostgreSQL or UTF-8 refuses.
    pytest.param(b'{"\\udc00": 1}', 400, "surrogate", id="lone-low-surrogate-key"),
    pytest.param(b'{"a": "\\ud800x"}', 400, "surrogate", id="high-surrogate-then-text"),
    pytest.param(b'{"a": "\xc0\xaf"}', 400, "utf-8", id="overlong-utf8"),
    pytest.param(b'{"a": "\xed\xa0\x80"}', 400, "utf-8", id="encoded-surrogate"),
    pytest.param(b'{"a": "\x80"}', 400, "utf-8", id="lone-continuation-byte"),
    pytest.param(b"\xef\xbb\xbf{}", 400, "bom", id="utf8-bom"),
    pytest.param('{"a": 1}'.encode("utf-16"), 400, "json", id="utf16"),
    # Not quite JSON.
    pytest.param(b'{"a": 1,}', 400, "json", id="trailing-comma"),
    pytest.param(b"{'a': 1}", 400, "json", id="single-quotes"),
    pytest.param(b'{"a": 1} {"b": 2}', 400, "json", id="two-documents"),
    pytest.param(b'{"a": "\x01"}', 400, "json", id="raw-control-character"),
    pytest.param(b'"just a string"', 422, '"field":"body"', id="bare-string"),
    pytest.param(b"null", 422, '"field":"body"', id="null"),
]


@pytest.mark.parametrize(("content", "status", "reason_part"), HOSTILE_BODIES)
async def test_hostile_body_gets_a_4xx_with_a_reason(
    client: httpx.AsyncClient, empty_database: str, content: bytes, status: int, reason_part: str
) -> None:
    response = await client.post("/api/v1/logs", content=content, headers=JSON)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    said = (problem["detail"] + " " + orjson.dumps(problem["errors"]).decode()).lower()
    assert reason_part.lower() in said, problem
    assert row_count(empty_database) == 0


# Compact as orjson writes it too: the check has a fast path for that form.
@pytest.mark.parametrize("separator", [b", ", b","], ids=["spaced", "compact"])
async def test_duplicate_key_inside_a_batch_item_refuses_the_batch(
    client: httpx.AsyncClient, empty_database: str, separator: bytes
) -> None:
    good = orjson.dumps(a_log())
    duplicate = _with_duplicate(good, b"category", separator)
    batch = b'{"logs":[' + good + separator + duplicate + b"]}"
    response = await client.post("/api/v1/logs/batch", content=batch, headers=JSON)
    assert response.status_code == 422
    assert "category" in response.json()["detail"]
    assert row_count(empty_database) == 0


async def test_repeated_keys_in_sibling_objects_are_fine(client: httpx.AsyncClient) -> None:
    # The same keys in every item of a batch is the normal case, not a duplicate.
    batch = {"logs": [a_log(payload={"trace": [{"n": 1}, {"n": 2}]}) for _ in range(20)]}
    response = await client.post("/api/v1/logs/batch", json=batch, headers=auth(TENANT_A_KEY))
    assert response.status_code == 200
    assert response.json()["accepted"] == 20


async def test_depth_and_length_at_the_limit_are_accepted(client: httpx.AsyncClient) -> None:
    # The log object is level 1, payload 2: a 30-deep payload value reaches depth 32.
    at_limit = a_log(payload=_nested(30), metrics={"s": "y" * 65_536})
    response = await client.post("/api/v1/logs", json=at_limit, headers=auth(TENANT_A_KEY))
    assert response.status_code == 201, response.text


async def test_brackets_inside_strings_are_not_depth(client: httpx.AsyncClient) -> None:
    log = a_log(payload={"opening": "[" * 100, "closing": "}" * 100, "escaped": '\\"[{' * 50})
    response = await client.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY))
    assert response.status_code == 201, response.text


async def test_a_long_run_outside_strings_is_not_a_long_string(client: httpx.AsyncClient) -> None:
    # 80 kB without a quote, but no string in it: the quick check's suspicion is lifted
    # by the exact one.
    log = a_log(metrics={"samples": [1] * 40_000})
    response = await client.post("/api/v1/logs", json=log, headers=auth(TENANT_A_KEY))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("settings_overrides", [{"max_json_depth": 4, "max_string_length": 40}])
async def test_limits_follow_settings(client: httpx.AsyncClient) -> None:
    deep = await client.post(
        "/api/v1/logs",
        json=a_log(payload={"a": {"b": {"c": {"d": 1}}}}),
        headers=auth(TENANT_A_KEY),
    )
    assert deep.status_code == 422
    assert "deeper than 4" in deep.json()["detail"]
    long = await client.post(
        "/api/v1/logs",
        json=a_log(payload={"a": "x" * 41}, metrics=None),
        headers=auth(TENANT_A_KEY),
    )
    assert long.status_code == 422
    assert long.json()["errors"][0]["field"] == "payload.a"


async def test_very_wide_json_within_the_body_limit_is_stored(client: httpx.AsyncClient) -> None:
    wide = a_log(payload={f"k{i}": i for i in range(50_000)}, metrics={"v": list(range(50_000))})
    response = await client.post("/api/v1/logs", json=wide, headers=auth(TENANT_A_KEY))
    assert response.status_code == 201, response.text
    detail = await client.get(f"/api/v1/logs/{response.json()['id']}", headers=auth(TENANT_A_KEY))
    assert len(detail.json()["payload"]) == 50_000


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 100_000}])
async def test_very_wide_json_over_the_body_limit_is_413(client: httpx.AsyncClient) -> None:
    wide = a_log(payload={f"k{i}": i for i in range(50_000)})
    response = await client.post("/api/v1/logs", json=wide, headers=auth(TENANT_A_KEY))
    assert response.status_code == 413


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonx",
        "application/octet-stream",
        "",
    ],
)
async def test_wrong_content_types_are_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/api/v1/logs",
        content=_log_bytes(),
        headers={**auth(TENANT_A_KEY), "Content-Type": content_type},
    )
    assert response.status_code == 415, response.text
    assert response.json()["errors"][0]["field"] == "header.content-type"


@pytest.mark.parametrize(
    ("content", "encoding", "status"),
    [
        (gzip.compress(b"not json at all"), "gzip", 400),
        (gzip.compress(gzip.compress(_log_bytes())), "gzip", 400),
        (gzip.compress(_log_bytes())[:-10], "gzip", 400),
        (zlib.compress(_log_bytes()), "gzip", 400),
        (_log_bytes(), "deflate", 415),
        (_log_bytes(), "gzip, gzip", 415),
    ],
    ids=["gzip-of-text", "double-gzip", "truncated-gzip", "zlib-as-gzip", "deflate", "stacked"],
)
async def test_hostile_encodings(
    client: httpx.AsyncClient, empty_database: str, content: bytes, encoding: str, status: int
) -> None:
    response = await client.post(
        "/api/v1/logs", content=content, headers={**JSON, "Content-Encoding": encoding}
    )
    assert response.status_code == status, response.text
    assert response.json()["errors"]
    assert row_count(empty_database) == 0


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 100_000}])
async def test_gzip_bomb_in_a_batch_is_413(client: httpx.AsyncClient) -> None:
    # Highly compressible but valid-looking: a batch of a million identical logs.
    members = b",".join([_log_bytes()] * 20_000)
    bomb = gzip.compress(b'{"logs": [' + members + b"]}", compresslevel=9)
    assert len(bomb) < 100_000
    response = await client.post(
        "/api/v1/logs/batch", content=bomb, headers={**JSON, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 413
    assert "decompressed" in response.json()["detail"]


async def test_huge_header_is_431(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/logs", json=a_log(), headers={**auth(TENANT_A_KEY), "X-Junk": "j" * 20_000}
    )
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"
    many = {f"X-H{i}": "v" * 100 for i in range(200)}
    assert (
        await client.get("/api/v1/logs", headers={**auth(TENANT_A_KEY), **many})
    ).status_code == 431


async def test_huge_api_key_is_401_not_500(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/logs", headers={"X-API-Key": "k" * 10_000})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        "client_id=%00",
        "status=%00",
        "environment=" + "e" * 300,
        "page=99999999999999999999",
        "page_size=-1",
        "from=2026-13-45T00:00:00Z",
        "min_execution_time=NaN",
        "min_execution_time=1e400",
        "cursor=" + "%FF" * 10,
        "order=sideways",
    ],
)
async def test_hostile_query_parameters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, query: str
) -> None:
    response = await client.get(f"/api/v1/logs?{query}", headers=auth(TENANT_A_KEY))
    assert response.status_code == 422, (query, response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    name = query.split("=", 1)[0]
    assert [e["field"] for e in response.json()["errors"]] == [f"query.{name}"]


@pytest.mark.parametrize(
    ("executed_at", "status"),
    [
        ("2026-01-01T00:00:00-19:50", 201),  # PostgreSQL refuses the offset: stored as UTC
        ("2026-01-01T00:00:00+23:59", 201),
        ("0001-01-01T00:00:00+05:00", 422),  # before year 1 in UTC
        ("9999-12-31T23:59:59-05:00", 422),  # after year 9999 in UTC
    ],
)
async def test_time_zone_offsets_beyond_postgresql_range(
    client: httpx.AsyncClient, executed_at: str, status: int
) -> None:
    # Found by Schemathesis: a -19:50 offset used to reach PostgreSQL and answer 500.
    response = await client.post(
        "/api/v1/logs", json=a_log(executed_at=executed_at), headers=auth(TENANT_A_KEY)
    )
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["errors"][0]["field"] == "executed_at"
    if status == 201:
        # Stored at the instant it names, in UTC, and read back as such.
        stored = (
            await client.get(f"/api/v1/logs/{response.json()['id']}", headers=auth(TENANT_A_KEY))
        ).json()
        assert datetime.fromisoformat(stored["executed_at"]) == datetime.fromisoformat(executed_at)
    # As a query bound: the same instants are read (200) or refused naming the bound (422).
    listed = await client.get(
        "/api/v1/logs", params={"from": executed_at}, headers=auth(TENANT_A_KEY)
    )
    assert listed.status_code == (200 if status == 201 else 422), listed.text
    if status == 201:
        assert [i["id"] for i in listed.json()["items"]] == [response.json()["id"]]
    else:
        assert [e["field"] for e in listed.json()["errors"]] == ["query.from"]
    metrics = await client.get(
        "/api/v1/metrics/overview", params={"to": executed_at}, headers=auth(TENANT_A_KEY)
    )
    assert metrics.status_code == (200 if status == 201 else 422), metrics.text
    if status == 422:
        assert [e["field"] for e in metrics.json()["errors"]] == ["query.to"]


async def test_absurd_execution_times_are_422_not_an_overflow(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    # Found by Schemathesis: two logs of 1e308 s overflowed the rollup sums (500).
    batch = [a_log(execution_time_seconds=1e308), a_log(execution_time_seconds=1.7e308)]
    response = await client.post("/api/v1/logs/batch", json=batch, headers=auth(TENANT_A_KEY))
    assert response.status_code == 200
    assert response.json()["rejected"] == 2
    assert response.json()["items"][0]["errors"][0]["field"] == "execution_time_seconds"
    assert row_count(empty_database) == 0


def _cursor(document: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(document)).decode().rstrip("=")


_A_TIME = "2026-01-01T00:00:00+00:00"
_AN_ID = "0190b2f0-0000-7000-8000-000000000000"


@pytest.mark.parametrize(
    "decoded",
    [
        {"t": _A_TIME, "i": 5, "o": "desc"},
        {"t": _A_TIME, "i": [_AN_ID], "o": "desc"},
        {"t": _A_TIME, "i": {"x": 1}, "o": "desc"},
        {"t": _A_TIME, "i": True, "o": "desc"},
        {"t": 5, "i": _AN_ID, "o": "desc"},
        {"t": [_A_TIME], "i": _AN_ID, "o": "desc"},
        {"t": "2026-01-01T00:00:00", "i": _AN_ID, "o": "desc"},
        {"t": "0001-01-01T00:00:00+05:00", "i": _AN_ID, "o": "desc"},
        {"t": _A_TIME, "i": _AN_ID, "o": 1},
        {"t": _A_TIME, "i": _AN_ID, "o": "sideways"},
        {"t": _A_TIME, "i": _AN_ID},
        {"t": _A_TIME, "i": _AN_ID, "o": "desc", "extra": 1},
        [_A_TIME, _AN_ID, "desc"],
        "a string",
        7,
        None,
    ],
    ids=lambda d: orjson.dumps(d).decode()[:60],
)
async def test_any_cursor_shape_is_422_naming_cursor(
    client: httpx.AsyncClient, decoded: object
) -> None:
    # Found by the attack in issue 12: "i" as an int, list, dict or bool was a 500.
    response = await client.get(
        "/api/v1/logs", params={"cursor": _cursor(decoded)}, headers=auth(TENANT_A_KEY)
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "query.cursor"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/metrics/overview", {"to": "0001-01-03T00:00:00Z"}, "query.to"),
        (
            "/api/v1/metrics/categories",
            {"from": "9999-12-31T10:00:00Z", "to": "9999-12-31T12:00:00Z"},
            "query.from",
        ),
        ("/api/v1/metrics/overview", {"from": "1969-12-31T00:00:00Z"}, "query.from"),
        ("/api/v1/metrics/categories", {"to": "9000-01-01T00:00:01Z"}, "query.to"),
        ("/api/v1/logs", {"from": "0001-01-01T00:00:00Z"}, "query.from"),
        ("/api/v1/logs", {"to": "9999-12-31T23:59:59Z"}, "query.to"),
    ],
)
async def test_times_a_range_cannot_compute_are_422_with_the_range(
    client: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    # Found by the attack in issue 12: OverflowError (500) computing the range's ends.
    response = await client.get(path, params=params, headers=auth(TENANT_A_KEY))
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["reason"] for e in response.json()["errors"]}
    assert "1970-01-01" in errors[field], errors
    assert "9000-01-01" in errors[field], errors


async def test_range_at_the_bounds_is_answered(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/metrics/overview", "/api/v1/metrics/categories"):
        for params in (
            {"from": "1970-01-01T00:00:00Z", "to": "1970-01-03T00:00:00Z"},
            {"from": "8999-12-31T00:00:00Z", "to": "9000-01-01T00:00:00Z"},
            {"to": "1970-01-01T00:00:00Z"},  # the default 7 days reach into 1969
        ):
            response = await client.get(path, params=params, headers=auth(TENANT_A_KEY))
            assert response.status_code == 200, (path, params, response.text)


MARKER = "tenant-secret-marker-7f3a"


def test_unexpected_error_is_answered_on_a_kept_connection_and_logs_no_tenant_data(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A statement that fails in PostgreSQL with a tenant's value in it: the answer is a
    500 problem, the keep-alive connection survives it, and neither the value (bound
    parameter, or quoted back in PostgreSQL's message) nor the body reaches the log."""
    app = create_app(settings, migrate=False)

    @app.post("/test-only/failing-statement")
    async def failing_statement(request: Request) -> None:
        body = (await request.body()).decode()
        async with request.app.state.central_logger.engine.connect() as conn:
            # PostgreSQL's own message quotes the value it cannot cast.
            await conn.execute(text("SELECT CAST(:value AS integer)"), {"value": body})

    @app.get("/test-only/bug")
    async def bug() -> None:
        raise RuntimeError("a bug, not the client's fault")

    # Routes added after create_app sit behind the dashboard's mount at "/" (when the
    # dashboard is built), which would answer them 405: the mount goes last again.
    app.router.routes.sort(key=lambda route: isinstance(route, Mount))

    # uvicorn's own loggers do not propagate to the root, where caplog listens.
    uvicorn_logger = logging.getLogger("uvicorn")
    uvicorn_logger.addHandler(caplog.handler)
    with LiveServer(app) as server, caplog.at_level(logging.INFO):
        connection = http.client.HTTPConnection(server.url.removeprefix("http://"))
        for method, path, body in [
            ("POST", "/test-only/failing-statement", MARKER),
            ("GET", "/test-only/bug", None),
            ("GET", "/health", None),
        ]:
            connection.request(method, path, body=body)
            response = connection.getresponse()
            answer = response.read()
            if path != "/health":
                assert response.status == 500, answer
                assert response.getheader("content-type") == "application/problem+json"
            assert response.status == 200 or b"Internal error" in answer
            assert not response.will_close
        socket_before = connection.sock
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
        assert connection.sock is socket_before  # one connection served all four
        connection.close()
    uvicorn_logger.removeHandler(caplog.handler)
    formatter = logging.Formatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert "failing-statement" in logged  # the error was logged...
    assert "SQLSTATE 22P02" in logged
    assert MARKER not in logged  # ...without the tenant's value


async def test_a_failed_statement_hides_its_parameters(settings: Settings) -> None:
    engine = create_engine(settings, settings.database_url or "")
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as failure:
                # Division by zero: PostgreSQL's message does not quote the value.
                await conn.execute(text("SELECT CAST(:value AS text), 1 / 0"), {"value": MARKER})
        assert "1 / 0" in str(failure.value)
        assert MARKER not in str(failure.value)
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("literal", "field"),
    [
        (b"18446744073709551616", "metrics.n"),  # 2^64: was stored as a double
        (b"18446744073709551617", "metrics.n"),  # 2^64 + 1: was stored as 2^64
        (b"-9223372036854775809", "metrics.n"),  # -2^63 - 1: was stored as -2^63
        (b'[1, {"deep": 1' + b"0" * 30 + b"}]", "metrics.n.1.deep"),
    ],
)
async def test_integers_beyond_64_bits_in_metrics_are_422(
    client: httpx.AsyncClient, empty_database: str, literal: bytes, field: str
) -> None:
    body = _log_bytes(metrics=None).replace(b'"metrics":null', b'"metrics":{"n":' + literal + b"}")
    assert literal in body
    response = await client.post("/api/v1/logs", content=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert "64-bit" in response.json()["errors"][0]["reason"]
    assert row_count(empty_database) == 0


async def test_integers_at_the_64_bit_edges_are_stored_exactly(client: httpx.AsyncClient) -> None:
    body = _log_bytes(metrics=None).replace(
        b'"metrics":null',
        b'"metrics":{"top":18446744073709551615,"bottom":-9223372036854775808,"x":1.5e300}',
    )
    # 1.5e300 is beyond too: a double that large was not an exact integer either.
    assert (await client.post("/api/v1/logs", content=body, headers=JSON)).status_code == 422
    body = body.replace(b',"x":1.5e300', b"")
    response = await client.post("/api/v1/logs", content=body, headers=JSON)
    assert response.status_code == 201, response.text
    stored = await client.get(f"/api/v1/logs/{response.json()['id']}", headers=auth(TENANT_A_KEY))
    assert stored.json()["metrics"] == {"top": 2**64 - 1, "bottom": -(2**63)}

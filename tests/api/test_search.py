"""`q` on GET /api/v1/logs (issue 14): ticket ids by prefix, case-insensitively; words
of error messages, step names and payload text; with the count and keyset paging;
tenant-isolated; bad input a 422; the index on every day's partition, new ones too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from central_logger.logs.repository import prefix_upper_bound
from tests.support.factories import a_log
from tests.support.tenants import ADMIN_KEY, TENANT_A_KEY, TENANT_B_KEY, auth

NOW = datetime.now(UTC)


def at(minutes: int) -> str:
    return (NOW - timedelta(minutes=minutes)).isoformat()


async def ship(
    client: httpx.AsyncClient, logs: list[dict[str, Any]], key: str = TENANT_A_KEY
) -> None:
    response = await client.post("/api/v1/logs/batch", json=logs, headers=auth(key))
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 0, response.text


async def search(
    client: httpx.AsyncClient, q: str, key: str = TENANT_A_KEY, **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/v1/logs", params={"q": q, **params}, headers=auth(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def tickets(page: dict[str, Any]) -> list[str]:
    return [item["ticket_id"] for item in page["items"]]


async def test_ticket_ids_by_prefix_case_insensitively(client: httpx.AsyncClient) -> None:
    await ship(
        client,
        [
            a_log(ticket_id="ACME-1001", executed_at=at(1)),
            a_log(ticket_id="ACME-1002", executed_at=at(2)),
            a_log(ticket_id="acme-2001", executed_at=at(3)),
            a_log(ticket_id="OTHER-1", executed_at=at(4)),
            a_log(ticket_id=None, executed_at=at(5)),
        ],
    )
    assert tickets(await search(client, "acme-10")) == ["ACME-1001", "ACME-1002"]
    page = await search(client, "Acme")
    assert tickets(page) == ["ACME-1001", "ACME-1002", "acme-2001"]
    assert page["total"] == 3
    assert tickets(await search(client, "ACME-1001")) == ["ACME-1001"]
    assert tickets(await search(client, "cme")) == []  # a prefix, not a substring
    # The other filters still apply.
    assert tickets(await search(client, "acme", status="FAILED")) == []


def _failed(ticket: str, minutes: int, error: str, step: str, output: str) -> dict[str, Any]:
    return a_log(
        ticket_id=ticket,
        status="FAILED",
        executed_at=at(minutes),
        payload={
            "error": error,
            "trace": [{"name": step, "output": output, "duration_seconds": 0.2}],
        },
    )


async def test_words_of_errors_step_names_and_payload_text(client: httpx.AsyncClient) -> None:
    await ship(
        client,
        [
            _failed("T-1", 1, "Mail server refused the connection", "send_reply", "queued"),
            _failed("T-2", 2, "Timeout talking to the model", "lookup_invoice", "none"),
            _failed("T-3", 3, "Rate limited", "classify", "customer wants a refund"),
        ],
    )
    assert tickets(await search(client, "refused")) == ["T-1"]
    assert tickets(await search(client, "SERVER refused")) == ["T-1"]  # every word, any case
    assert tickets(await search(client, "server timeout")) == []
    assert tickets(await search(client, "lookup_invoice")) == ["T-2"]  # a step name
    assert tickets(await search(client, "refund")) == ["T-3"]  # payload text
    assert tickets(await search(client, "billing_issue")) == ["T-3", "T-2", "T-1"][::-1]
    # Keys of the payload are not words of the log.
    assert tickets(await search(client, "trace")) == []


async def test_count_and_keyset_paging_with_q(client: httpx.AsyncClient) -> None:
    matching = [
        a_log(ticket_id=f"M-{i}", executed_at=at(i), payload={"error": "quota exceeded"})
        for i in range(5)
    ]
    others = [a_log(ticket_id=f"X-{i}", executed_at=at(10 + i)) for i in range(4)]
    await ship(client, matching + others)
    seen: list[str] = []
    params: dict[str, Any] = {"page_size": 2}
    while True:
        page = await search(client, "quota", **params)
        if "cursor" not in params:
            assert page["total"] == 5  # later pages count from their cursor on
        seen += tickets(page)
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [f"M-{i}" for i in range(5)]


async def test_another_tenants_logs_are_invisible(client: httpx.AsyncClient) -> None:
    await ship(client, [a_log(ticket_id="SHARED-A", payload={"error": "disk full"})])
    await ship(
        client, [a_log(ticket_id="SHARED-B", payload={"error": "disk full"})], key=TENANT_B_KEY
    )
    assert tickets(await search(client, "disk full")) == ["SHARED-A"]
    assert tickets(await search(client, "shared")) == ["SHARED-A"]
    assert tickets(await search(client, "shared-b")) == []
    assert tickets(await search(client, "shared-a", key=TENANT_B_KEY)) == []
    admin = await search(client, "disk", key=ADMIN_KEY)
    assert sorted(tickets(admin)) == ["SHARED-A", "SHARED-B"]
    one = await search(client, "disk", key=ADMIN_KEY, client_id="tenant_b")
    assert tickets(one) == ["SHARED-B"]


@pytest.mark.parametrize(
    ("q", "reason"),
    [("", "at least 1"), ("   ", "a word"), ("a\x00b", "NUL"), ("x" * 256, "at most 255")],
    ids=["empty", "blank", "nul", "too-long"],
)
async def test_bad_q_is_a_422_naming_the_field(
    client: httpx.AsyncClient, q: str, reason: str
) -> None:
    response = await client.get("/api/v1/logs", params={"q": q}, headers=auth(TENANT_A_KEY))
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["field"].endswith("q") and reason in e["reason"] for e in errors), errors


async def test_punctuation_only_q_matches_no_words_and_fails_nothing(
    client: httpx.AsyncClient,
) -> None:
    await ship(client, [a_log(ticket_id="-1"), a_log(ticket_id="A-1")])
    assert tickets(await search(client, "-")) == ["-1"]  # still a ticket prefix


async def test_a_large_payload_is_stored_and_its_first_words_found(
    client: httpx.AsyncClient,
) -> None:
    """Past 200 kB of text a payload gives its first 100,000 characters' words: no
    tsvector past PostgreSQL's 1 MB limit can fail an insert."""
    distinct = " ".join(f"w{i}" for i in range(6_000))  # ~40 kB of distinct words
    payload = {"error": "needle first", "parts": [distinct + f" part{n}" for n in range(6)]}
    await ship(client, [a_log(ticket_id="BIG", payload=payload)])
    assert tickets(await search(client, "needle")) == ["BIG"]


def test_prefix_upper_bound() -> None:
    assert prefix_upper_bound("abc") == "abd"
    assert prefix_upper_bound("a\ud7ff") == "a\ue000"
    assert prefix_upper_bound("a\U0010ffff") == "b"
    assert prefix_upper_bound("\U0010ffff") is None


def _plan(conn: psycopg.Connection[Any], query: str) -> str:
    return "\n".join(str(line) for (line,) in conn.execute(f"EXPLAIN {query}").fetchall())


def _partition_indexes(conn: psycopg.Connection[Any], partition: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", (partition,)
    ).fetchall()
    return {name: definition for name, definition in rows}


async def test_a_new_day_partition_has_the_search_indexes_and_words_use_them(
    client: httpx.AsyncClient, database_url: str
) -> None:
    day = date(2031, 3, 4)
    partition = "workflow_logs_p20310304"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT workflow_logs_create_partition(%s)", (day,))
        definitions = " ".join(_partition_indexes(conn, partition).values())
        assert "gin (workflow_log_search_document(ticket_id, category, payload))" in definitions
        assert "lower(ticket_id) text_pattern_ops" in definitions
        conn.execute("SET enable_seqscan = off")
        words = _plan(
            conn,
            f"SELECT id FROM {partition} WHERE"
            " workflow_log_search_document(ticket_id, category, payload)"
            " @@ plainto_tsquery('simple', 'refused')",
        )
        assert f"Bitmap Index Scan on {partition}_workflow_log_search_document_idx" in words
        # Under row-level security only LEAKPROOF functions may lead an index scan:
        # the migration (run here as a superuser) marks the search's.
        marked = conn.execute(
            "SELECT p.oid::regprocedure::text, p.proleakproof FROM pg_proc p"
            " WHERE p.oid IN ('pg_catalog.ts_match_vq(tsvector, tsquery)'::regprocedure,"
            " 'pg_catalog.lower(text)'::regprocedure,"
            " 'workflow_log_search_document(text, text, jsonb)'::regprocedure)"
        ).fetchall()
        assert len(marked) == 3
        assert all(leakproof for _, leakproof in marked), marked
        conn.execute(f"DROP TABLE {partition}")

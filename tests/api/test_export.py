"""GET /api/v1/logs/export and `central-logger export`: the list's filters and range as
a file (JSONL whole logs, CSV list columns), page by page across daily partitions, the
cap and its marker, formula cells neutralised, tenant isolation, bad input."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from central_logger.cli import app as cli
from tests.support.factories import a_log
from tests.support.tenants import ADMIN_KEY, TENANT_A, TENANT_A_KEY, TENANT_B, TENANT_B_KEY, auth

# Recent enough for the retention the tests set (RETENTION_DAYS=3650), and days apart:
# 40 logs on 40 days make more daily partitions than one read window holds (31).
BASE = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=60)


def day(n: int, minutes: int = 0) -> str:
    return (BASE + timedelta(days=n, minutes=minutes)).isoformat()


async def ship(client: httpx.AsyncClient, logs: list[dict[str, Any]], key: str) -> list[str]:
    response = await client.post("/api/v1/logs/batch", json=logs, headers=auth(key))
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 0, response.text
    return [item["id"] for item in response.json()["items"]]


async def export(
    client: httpx.AsyncClient, key: str = TENANT_A_KEY, **params: Any
) -> httpx.Response:
    return await client.get("/api/v1/logs/export", params=params, headers=auth(key))


def jsonl(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [orjson.loads(line) for line in response.content.splitlines()]


async def listed_ids(
    client: httpx.AsyncClient, key: str = TENANT_A_KEY, **params: Any
) -> list[str]:
    response = await client.get(
        "/api/v1/logs", params={"page_size": 500, **params}, headers=auth(key)
    )
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.fixture
async def forty_days(client: httpx.AsyncClient) -> list[str]:
    """Tenant A: 40 logs, one a day, alternating status; tenant B: 5 of its own."""
    logs = [
        a_log(
            executed_at=day(i),
            status=("SUCCESS", "FAILED")[i % 2],
            metrics={"confidence": i / 100, "tokens": i},
            payload={"trace": [{"name": "step", "n": i}], "note": 'é\n"quoted"'},
        )
        for i in range(40)
    ]
    ids = await ship(client, logs, TENANT_A_KEY)
    await ship(
        client, [a_log(executed_at=day(i), ticket_id="B-ONLY") for i in range(5)], TENANT_B_KEY
    )
    return ids


async def test_jsonl_is_the_lists_rows_as_whole_logs(
    client: httpx.AsyncClient, forty_days: list[str]
) -> None:
    response = await export(client)
    assert response.headers["content-type"].startswith("application/x-ndjson")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="logs-')
    assert disposition.endswith('.jsonl"')
    rows = jsonl(response)
    # Newest first, across more partitions than one read window: the list's order.
    assert [r["id"] for r in rows] == await listed_ids(client)
    assert len(rows) == 40
    oldest = rows[-1]
    assert oldest["client_id"] == TENANT_A
    assert oldest["metrics"] == {"confidence": 0.0, "tokens": 0}
    assert oldest["payload"] == {"trace": [{"name": "step", "n": 0}], "note": 'é\n"quoted"'}
    assert datetime.fromisoformat(oldest["executed_at"]) == BASE
    # No marker: the file is complete.
    assert all("export" not in r for r in rows)


async def test_filters_and_range_are_the_lists(
    client: httpx.AsyncClient, forty_days: list[str]
) -> None:
    params = {"status": "failed", "from": day(5), "to": day(35), "order": "asc"}
    rows = jsonl(await export(client, **params))
    assert [r["id"] for r in rows] == await listed_ids(client, **params)
    assert len(rows) == 15
    assert {r["status"] for r in rows} == {"FAILED"}


async def test_a_search_exports_the_lists_matches_and_only_the_tenants_own(
    client: httpx.AsyncClient, forty_days: list[str]
) -> None:
    """`q` (issue 14) reaches the export through the list's filters, on the search's own
    plans; the same word in another tenant's log stays out."""
    word = "quokkaexport"
    mine = await ship(
        client, [a_log(executed_at=day(i), payload={"note": word}) for i in (3, 33)], TENANT_A_KEY
    )
    await ship(client, [a_log(executed_at=day(20), payload={"note": word})], TENANT_B_KEY)
    rows = jsonl(await export(client, q=word))
    assert [r["id"] for r in rows] == await listed_ids(client, q=word)
    assert sorted(r["id"] for r in rows) == sorted(mine)
    assert {r["client_id"] for r in rows} == {TENANT_A}
    assert jsonl(await export(client, q="B-ONLY")) == []


async def test_csv_has_list_columns_metrics_as_json_and_no_formulas(
    client: httpx.AsyncClient,
) -> None:
    hostile = a_log(
        category='=HYPERLINK("http://evil")',
        ticket_id="+1+2",
        workflow_version="-3",
        resolution_status="@SUM(A1)",
        environment='plain, with "quotes"',
        metrics={"score": 1, "text": "=1+1"},
    )
    (log_id,) = await ship(client, [hostile], TENANT_A_KEY)
    response = await export(client, format="csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].endswith('.csv"')
    header, row = list(csv.reader(io.StringIO(response.text)))
    assert header == [
        "id", "client_id", "environment", "workflow_version", "ticket_id", "executed_at",
        "execution_time_seconds", "status", "category", "resolution_status", "metrics",
        "created_at",
    ]  # fmt: skip
    cells = dict(zip(header, row, strict=True))
    assert cells["id"] == log_id
    assert cells["category"] == '\'=HYPERLINK("http://evil")'
    assert cells["ticket_id"] == "'+1+2"
    assert cells["workflow_version"] == "'-3"
    assert cells["resolution_status"] == "'@SUM(A1)"
    assert cells["environment"] == 'plain, with "quotes"'
    assert orjson.loads(cells["metrics"]) == {"score": 1, "text": "=1+1"}
    assert float(cells["execution_time_seconds"]) == 1.5
    assert datetime.fromisoformat(cells["executed_at"]) == datetime.fromisoformat(
        hostile["executed_at"]
    )


async def test_tenants_export_only_their_own_and_admins_choose(
    client: httpx.AsyncClient, forty_days: list[str]
) -> None:
    for params in ({}, {"ticket_id": "B-ONLY"}):
        rows = jsonl(await export(client, **params, status="success", to=day(3)))
        assert {r["client_id"] for r in rows} <= {TENANT_A}
    assert jsonl(await export(client, ticket_id="B-ONLY")) == []
    b_rows = jsonl(await export(client, TENANT_B_KEY))
    assert len(b_rows) == 5
    assert {r["client_id"] for r in b_rows} == {TENANT_B}

    refused = await export(client, client_id=TENANT_B)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["field"] == "query.client_id"

    admin_b = jsonl(await export(client, ADMIN_KEY, client_id=TENANT_B))
    assert {r["client_id"] for r in admin_b} == {TENANT_B}
    admin_all = jsonl(await export(client, ADMIN_KEY, ticket_id="B-ONLY", to=day(3)))
    assert {r["client_id"] for r in admin_all} == {TENANT_B}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "xml"}, "query.format"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
        ({"from": "2026-01-01T00:00:00"}, "query.from"),
        ({"min_execution_time": "-1"}, "query.min_execution_time"),
        ({"order": "sideways"}, "query.order"),
        ({"page_size": "10"}, "query.page_size"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await export(client, **params)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_without_a_key_is_a_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/logs/export")
    assert response.status_code == 401


async def test_cli_export_writes_the_same_file(
    client: httpx.AsyncClient, forty_days: list[str], empty_database: str, tmp_path: Path
) -> None:
    output = tmp_path / "a.jsonl"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["export", "--format", "jsonl", "--output", str(output), "--client-id", TENANT_A,
         "--status", "failed", "--max-rows", "100"],
        env={"DATABASE_URL": empty_database},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in output.read_bytes().splitlines()]
    assert [r["id"] for r in rows] == await listed_ids(client, status="failed")
    assert "20 logs written" in result.output

    csv_out = tmp_path / "all.csv"
    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        ["export", "--format", "csv", "--output", str(csv_out), "--ticket-id", "B-ONLY",
         "--max-rows", "3"],
        env={"DATABASE_URL": empty_database},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = list(csv.reader(csv_out.open()))
    assert len(lines) == 1 + 3 + 1
    assert lines[-1][0].startswith("# export truncated")
    assert {line[1] for line in lines[1:-1]} == {TENANT_B}
    assert "cut short" in result.output

    bad = await asyncio.to_thread(
        CliRunner().invoke,
        cli, ["export", "--output", str(tmp_path / "x"), "--from", "yesterday"],
        env={"DATABASE_URL": empty_database},
    )  # fmt: skip
    assert bad.exit_code != 0
    assert "from" in bad.output


class TestTheCap:
    """EXPORT_MAX_ROWS=7."""

    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"export_max_rows": 7}

    async def test_the_cap_ends_with_a_marker_whose_cursor_continues(
        self, client: httpx.AsyncClient, forty_days: list[str]
    ) -> None:
        response = await export(client)
        assert response.headers["x-export-max-rows"] == "7"
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            rows = jsonl(await export(client, **({"cursor": cursor} if cursor else {})))
            marker = rows[-1]
            if marker.get("export") != "truncated":
                seen += [r["id"] for r in rows]
                break
            assert marker["rows"] == 7
            assert marker["max_rows"] == 7
            assert len(rows) == 8
            seen += [r["id"] for r in rows[:-1]]
            cursor = marker["next_cursor"]
        # Each log once, in the list's order, across the windows of partitions.
        assert seen == await listed_ids(client)

        csv_rows = list(csv.reader(io.StringIO((await export(client, format="csv")).text)))
        assert len(csv_rows) == 1 + 7 + 1
        assert csv_rows[-1][0].startswith("# export truncated: rows=7, max_rows=7, next_cursor=")

    async def test_an_export_of_exactly_the_cap_has_no_marker(
        self, client: httpx.AsyncClient
    ) -> None:
        await ship(client, [a_log(executed_at=day(i)) for i in range(7)], TENANT_A_KEY)
        rows = jsonl(await export(client))
        assert len(rows) == 7
        assert all("export" not in r for r in rows)

    async def test_a_cursor_for_the_other_order_is_a_422(
        self, client: httpx.AsyncClient, forty_days: list[str]
    ) -> None:
        marker = jsonl(await export(client))[-1]
        response = await export(client, cursor=marker["next_cursor"], order="asc")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "query.cursor"

"""Comparing the service's figures with the naive aggregates, and the printed table."""

from __future__ import annotations

import json
from typing import Any

import orjson


def _relative_error(reported: float | None, exact: float | None) -> float | None:
    if reported is None or exact is None or exact == 0:
        return None
    return abs(reported - exact) / exact


def agreement(
    endpoint: str, body: dict[str, Any], naive_rows: list[list[tuple[Any, ...]]]
) -> dict[str, Any]:
    if endpoint == "overview":
        runs, failed, _avg, exact_percentiles = naive_rows[0][0]
        by_status = {status: count for status, count in naive_rows[1]}
        return {
            "counts_equal": body["total_runs"] == runs
            and body["failed_runs"] == failed
            and {s["status"]: s["runs"] for s in body["by_status"]} == by_status,
            "p50_error": _relative_error(body["p50_execution_time_seconds"], exact_percentiles[0]),
            "p95_error": _relative_error(body["p95_execution_time_seconds"], exact_percentiles[1]),
            "p99_error": _relative_error(body["p99_execution_time_seconds"], exact_percentiles[2]),
        }
    exact = {row[0]: row for row in naive_rows[0]}
    errors = [
        _relative_error(c["p95_execution_time_seconds"], exact[c["category"]][4])
        for c in body["categories"]
    ]
    return {
        "counts_equal": all(
            c["runs"] == exact[c["category"]][1] and c["successful_runs"] == exact[c["category"]][2]
            for c in body["categories"]
        )
        and len(exact) == len(body["categories"]),
        "p95_error_max": max((e for e in errors if e is not None), default=None),
    }


def jsonable(value: Any) -> Any:
    return json.loads(
        orjson.dumps(value, default=lambda o: o.__dict__, option=orjson.OPT_NON_STR_KEYS)
    )


def report(figures: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    rows: list[tuple[str, str, str, str, str]] = []
    ingest = figures["ingestion"]
    ratio = ingest["batch"]["logs_per_second"] / ingest["copy_rows_per_second"]
    rows.append(
        (
            "batch ingestion, 1000-log batches (logs/s), backfill (30 days)",
            f"{ingest['batch']['logs_per_second']:.0f}",
            ">= 40% of COPY",
            f"COPY {ingest['copy_rows_per_second']:.0f}",
            f"{ratio:.0%}",
        )
    )
    if "live" in ingest:
        live = ingest["live"]
        rows.append(
            (
                "batch ingestion, live logs (executed in the last hour)",
                f"{live['batch']['logs_per_second']:.0f}",
                ">= 40% of COPY",
                f"COPY {live['copy_rows_per_second']:.0f}",
                f"{live['batch']['logs_per_second'] / live['copy_rows_per_second']:.0%}",
            )
        )
    if "copy_one_new_client_rows_per_second" in ingest:
        earlier_limit = ingest["copy_one_new_client_rows_per_second"]
        rows.append(
            (
                "  (COPY of one new client's rows, random ids: the limit before)",
                f"{earlier_limit:.0f}",
                "-",
                "-",
                f"{ingest['batch']['logs_per_second'] / earlier_limit:.0%}",
            )
        )
    single, health = ingest["single"], ingest["health"]
    rows.append(
        (
            "single-log ingestion, 64 clients (req/s)",
            f"{single['requests_per_second']:.0f}",
            ">= 50% of /health",
            f"/health {health['requests_per_second']:.0f}",
            f"{single['requests_per_second'] / health['requests_per_second']:.0%}",
        )
    )
    rows.append(
        (
            "single-log ingestion p99 (ms)",
            f"{single.get('p99_ms', float('nan')):.1f}",
            "<= 50 ms",
            "-",
            "-",
        )
    )
    for checkpoint, queries in figures["queries"].items():
        health = queries["health_one_connection"]
        floor = f"/health one at a time: p50 {health.p50_ms:.1f}, p95 {health.p95_ms:.1f}"
        for name in (
            "logs_first_page",
            "logs_filtered_page",
            "logs_cursor_100k_deep",
            "logs_offset_100k_deep",
        ):
            latency = queries[name]
            figure = (
                f"{latency.p95_ms:.1f} (p50 {latency.p50_ms:.1f})"
                if latency is not None
                else "failed (over the 30 s statement timeout)"
            )
            rows.append(
                (
                    f"{name} p95 (ms) at {checkpoint} logs",
                    figure,
                    "<= 10 ms" if "offset" not in name else "(for contrast)",
                    floor,
                    "-",
                )
            )
        for metric in ("overview_7d", "overview_30d", "categories_7d", "categories_30d"):
            entry = queries[metric]
            naive = entry["naive"]["p50_ms"]
            in_process = entry["in_process"]
            rows.append(
                (
                    f"{metric} p95 (ms) at {checkpoint} logs",
                    f"{entry['latency'].p95_ms:.1f} (p50 {entry['latency'].p50_ms:.1f}; "
                    f"in-process p50 {in_process.p50_ms:.1f})",
                    "<= 20 ms, >= 10x naive",
                    f"naive p50 {naive:.1f}",
                    f"HTTP {naive / entry['latency'].p50_ms:.1f}x, "
                    f"in-process {naive / in_process.p50_ms:.1f}x; "
                    f"counts equal: {entry['agreement']['counts_equal']}",
                )
            )
    rows.append(
        ("metrics freshness (s)", f"{figures['freshness_seconds']:.2f}", "<= 5 s", "-", "-")
    )
    rss = figures["rss_mb"]
    rows.append(
        (
            "RSS per worker (MB), start -> end of ingestion",
            f"{rss['first']:.0f} -> {rss['last']:.0f} (max {rss['max']:.0f})",
            "<= 300 MB, flat",
            "-",
            "-",
        )
    )
    st = figures["storage"]
    rows.append(
        (
            "bytes per log (heap+TOAST+indexes)",
            f"{st['bytes_per_log']:.0f}",
            "reported",
            f"heap {st['heap_bytes_per_log']:.0f}, toast {st['toast_bytes_per_log']:.0f}, "
            f"index {st['index_bytes_per_log']:.0f}",
            st["payload_compression"],
        )
    )
    return rows

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
    by_checkpoint = figures.get("batch_by_checkpoint") or {}
    first = min(by_checkpoint) if by_checkpoint else None
    for checkpoint, batches in by_checkpoint.items():
        for workload, label in (
            ("backfill", "backfill (30-day spread)"),
            ("live", "live (executed in the last hour)"),
        ):
            phase = batches[workload]
            rate, copy = phase["batch"]["logs_per_second"], phase["copy_rows_per_second"]
            rows.append(
                (
                    f"batch ingestion (logs/s), {label}, at {checkpoint} logs",
                    f"{rate:.0f}",
                    ">= 55% of COPY (ids + logs)",
                    f"COPY {copy:.0f}",
                    f"{rate / copy:.0%}",
                )
            )
            if checkpoint != first and first is not None:
                base = by_checkpoint[first][workload]["batch"]["logs_per_second"]
                rows.append(
                    (
                        f"  {workload} rate at {checkpoint} / at {first}",
                        f"{rate / base:.0%}",
                        ">= 80%",
                        f"{base:.0f} logs/s at {first}",
                        f"{rate / base:.0%}",
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
            "bytes per log (partitions + workflow_log_ids)",
            f"{st['bytes_per_log']:.0f}",
            "reported",
            f"heap {st['heap_bytes_per_log']:.0f}, toast {st['toast_bytes_per_log']:.0f}, "
            f"index {st['index_bytes_per_log']:.0f}, ids table "
            f"{st['ids_table_bytes_per_log']:.0f} + index {st['ids_index_bytes_per_log']:.0f}",
            f"payloads sampled by method {st['payload_compression']}; stored "
            f"{st['payload_stored_bytes']:.0f} B of {st['payload_text_bytes']:.0f} B text",
        )
    )
    retention = figures.get("retention_under_load")
    if retention:
        baseline = retention["baseline"]
        rows.append(
            (
                "ingestion under steady load, no retention: p99 (ms)",
                f"{baseline['p99_ms']:.1f} (p50 {baseline['p50_ms']:.1f}, "
                f"max {baseline['max_ms']:.1f}, {baseline['requests']} requests)",
                "-",
                "-",
                "-",
            )
        )
        for key, label in (
            ("drop_days", "while the oldest days are dropped"),
            ("tenant_delete", "while one tenant's old logs are deleted"),
        ):
            phase = retention[key]
            during = phase["during"]
            if not during.get("requests"):
                rows.append((f"ingestion {label}", "no request in the window", "-", "-", "-"))
                continue
            rows.append(
                (
                    f"ingestion {label}: max (ms)",
                    f"{during['max_ms']:.1f} (p99 {during['p99_ms']:.1f}, "
                    f"{during['requests']} requests, {during['non_2xx']} non-2xx, "
                    f"{during['seconds']:.1f} s, {phase['rows']} logs)",
                    "<= 2x p99 without retention",
                    f"2x p99 = {2 * baseline['p99_ms']:.1f}",
                    f"{during['max_ms'] / baseline['p99_ms']:.2f}x p99",
                )
            )
    return rows

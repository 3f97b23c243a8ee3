"""Drives the real service over HTTP from this separate process: an async client for
varied requests, wrk for fixed ones."""

from __future__ import annotations

import asyncio
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil


@dataclass
class Latency:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    samples: int


def percentiles(samples_ms: list[float]) -> Latency:
    ordered = sorted(samples_ms)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    return Latency(at(0.5), at(0.95), at(0.99), len(ordered))


async def sequential_latency(
    base: str,
    path: str,
    key: str,
    params: dict[str, Any],
    *,
    requests: int = 100,
    warmups: int = 5,
    request_timeout: float = 30,
) -> Latency:
    """One request at a time from httpx, for requests too slow for `fixed_get_latency`."""
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": key}, timeout=request_timeout
    ) as http:
        for _ in range(warmups):  # warm the connection and the caches
            (await http.get(path, params=params)).raise_for_status()
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            response = await http.get(path, params=params)
            samples.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return percentiles(samples)


async def batch_ingestion(
    base: str,
    keys: list[str],
    bodies: list[bytes],
    *,
    seconds: float,
    concurrency: int,
    on_tick: Any = None,
) -> dict[str, float]:
    """Logs per second accepted (2xx, committed) with `concurrency` senders of 1000-log batches."""
    accepted = 0
    errors = 0
    deadline = time.perf_counter() + seconds

    async def sender(worker: int) -> None:
        nonlocal accepted, errors
        # A new connection per batch, as from many shippers: with four kept-alive
        # connections the kernel handed all four to one worker, leaving the other idle.
        async with httpx.AsyncClient(
            base_url=base, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)
        ) as http:
            i = worker
            while time.perf_counter() < deadline:
                response = await http.post(
                    "/api/v1/logs/batch",
                    content=bodies[i % len(bodies)],
                    headers={"X-API-Key": keys[i % len(keys)], "Content-Type": "application/json"},
                )
                if response.status_code == 200:
                    accepted += response.json()["accepted"]
                else:
                    errors += 1
                i += concurrency

    async def ticker() -> None:
        while time.perf_counter() < deadline and on_tick is not None:
            on_tick()
            await asyncio.sleep(1)

    started = time.perf_counter()
    await asyncio.gather(*(sender(w) for w in range(concurrency)), ticker())
    elapsed = time.perf_counter() - started
    return {
        "logs_per_second": accepted / elapsed,
        "accepted": accepted,
        "errors": errors,
        "seconds": elapsed,
    }


_LUA_POST = """
wrk.method = "POST"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "{key}"
"""


def _parse_wrk(output: str) -> dict[str, float]:
    def duration_ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    figures = {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    }  # type: ignore[union-attr]
    for label in ("50", "90", "99"):
        match = re.search(rf"^\s+{label}%\s+(\S+)", output, re.MULTILINE)
        if match:
            figures[f"p{label}_ms"] = duration_ms(match.group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    figures["non_2xx"] = float(non_2xx.group(1)) if non_2xx else 0.0
    return figures


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    post_body: dict[str, Any] | None = None,
    key: str = "",
) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    with tempfile.TemporaryDirectory() as scratch:
        if post_body is not None:
            script = Path(scratch) / "post.lua"
            script.write_text(_LUA_POST.format(body=orjson.dumps(post_body).decode(), key=key))
            command[1:1] = ["-s", str(script)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return _parse_wrk(output)


# wrk's `done` hook sees its whole latency histogram (microseconds); the text report
# prints p50/p75/p90/p99 only, and the targets are p95s.
_LUA_GET = """
wrk.headers["X-API-Key"] = "{key}"
done = function(summary, latency, requests)
  io.write(string.format("latency_us %d %d %d requests %d non_2xx %d errors %d\\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def fixed_get_latency(
    base: str, path: str, key: str, params: dict[str, Any], *, seconds: int = 5
) -> Latency:
    """One request at a time, as a dashboard user waits for it, from wrk (a C client) on
    one kept-alive connection for `seconds`: hundreds of samples, and no Python client
    time in them. The response is checked once with httpx first."""
    url = str(httpx.URL(base + path, params=params))
    httpx.get(url, headers={"X-API-Key": key}, timeout=30).raise_for_status()
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "get.lua"
        script.write_text(_LUA_GET.format(key=key))
        command = ["wrk", "-t1", "-c1", f"-d{seconds}s", "--timeout", "30s", "-s", str(script)]
        output = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    match = re.search(
        r"latency_us (\d+) (\d+) (\d+) requests (\d+) non_2xx (\d+) errors (\d+)", output
    )
    if match is None:
        raise RuntimeError(f"wrk printed no latency line:\n{output}")
    p50, p95, p99, requests, non_2xx, errors = (int(g) for g in match.groups())
    if non_2xx or errors or requests == 0:
        raise RuntimeError(f"GET {url}: {requests} requests, {non_2xx} non-2xx, {errors} errors")
    return Latency(p50 / 1000, p95 / 1000, p99 / 1000, requests)


def worker_rss_mb(server_pid: int) -> list[float]:
    """Resident memory of each uvicorn worker (the server's child processes)."""
    try:
        children = psutil.Process(server_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [c.memory_info().rss / 2**20 for c in children if "python" in c.name().lower()]

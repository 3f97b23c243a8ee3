"""Time from the log that breaks a rule to its notification leaving (docs/performance.md,
"Alerts: time to notify"): the real service (`central-logger serve`, evaluation and
delivery inside it) on a fresh database, a webhook receiver on 127.0.0.1, and per
sample one log that breaks one rule of its own (a count of a status only that sample
sends), sent at a random moment of the evaluation cycle.

    python -m bench.alerts_latency --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --interval 10 --samples 8 [--ingest-rules 1000 --ingest-seconds 15]

With --ingest-rules, then: that many rules of the bench client are added, and batch
ingestion over HTTP is measured in alternating phases with the rules enabled and
disabled (A/B/A/B, the evaluator running every --interval seconds throughout), so the
ratio of the two rates is measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

KEY = "bench_alerts_key"
ARRIVALS: dict[str, float] = {}


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if body["type"] == "alert.firing":
            ARRIVALS.setdefault(body["rule"]["name"], time.time())
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ingest_rate(base: str, seconds: float, senders: int = 4, batch: int = 200) -> float:
    """Logs per second accepted by POST /api/v1/logs/batch over `seconds`."""

    async def run() -> int:
        stop = time.monotonic() + seconds
        accepted = 0

        async def sender() -> None:
            nonlocal accepted
            async with httpx.AsyncClient(
                base_url=base, headers={"X-API-Key": KEY}, timeout=60
            ) as http:
                while time.monotonic() < stop:
                    now = datetime.now(UTC).isoformat()
                    logs = [
                        {
                            "environment": "production",
                            "executed_at": now,
                            "status": "SUCCESS",
                            "category": "billing",
                            "execution_time_seconds": 1.0,
                        }
                        for _ in range(batch)
                    ]
                    response = await http.post("/api/v1/logs/batch", json={"logs": logs})
                    accepted += response.json().get("accepted", 0)

        await asyncio.gather(*(sender() for _ in range(senders)))
        return accepted

    return asyncio.run(run()) / seconds


def _ingest_phases(base: str, url: str, *, rules: int, seconds: float) -> None:
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO alert_rules (client_id, provider, name, kind, threshold, window_seconds,"
            " group_by) VALUES ('bench', false, %s, %s, %s, %s, %s)",
            [
                (
                    f"load {i}",
                    ["failure_rate", "latency", "count", "no_runs"][i % 4],
                    None if i % 4 == 3 else 50.0,
                    900 + 60 * (i % 60),
                    "category" if i % 5 == 0 else None,
                )
                for i in range(rules)
            ],
        )
    rates: dict[bool, list[float]] = {True: [], False: []}
    for enabled in (True, False, True, False):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "UPDATE alert_rules SET enabled = %s WHERE name LIKE 'load %%'", (enabled,)
            )
        rate = _ingest_rate(base, seconds)
        rates[enabled].append(rate)
        print(f"{rules} rules {'enabled' if enabled else 'disabled'}: {rate:,.0f} logs/s")
    with_rules, without = statistics.mean(rates[True]), statistics.mean(rates[False])
    print(
        f"ingestion with {rules} rules: {with_rules:,.0f} logs/s, without: {without:,.0f} logs/s"
        f" ({with_rules / without:.1%} of the rate without rules)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument(
        "--interval", type=float, default=10.0, help="ALERTS_EVALUATION_INTERVAL_SECONDS"
    )
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--ingest-rules", type=int, default=0)
    parser.add_argument("--ingest-seconds", type=float, default=15.0)
    args = parser.parse_args()
    name = f"central_logger_bench_notify_{secrets.token_hex(4)}"
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = args.database_url.rpartition("/")[0] + "/" + name
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "API_KEYS": json.dumps({KEY: "bench"}),
        "ALERTS_EVALUATION_INTERVAL_SECONDS": str(args.interval),
        "ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "RATE_LIMIT_ENABLED": "false",
    }
    cli = Path(sys.executable).parent / "central-logger"
    service = subprocess.Popen(
        [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"X-API-Key": KEY}, timeout=30) as http:
            for _ in range(120):
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
            channel = http.post(
                "/api/v1/alerts/channels", json={"name": "bench", "kind": "webhook", "url": hook}
            ).json()["id"]
            for i in range(args.samples):
                http.post(
                    "/api/v1/alerts/rules",
                    json={
                        "name": f"sample {i}",
                        "kind": "count",
                        "status": f"BENCH{i}",
                        "threshold": 0,
                        "window_seconds": 600,
                        "channel_ids": [channel],
                    },
                ).raise_for_status()
            delays = []
            for i in range(args.samples):
                time.sleep(random.uniform(0, args.interval))
                sent = time.time()
                http.post(
                    "/api/v1/logs",
                    json={
                        "environment": "production",
                        "executed_at": datetime.now(UTC).isoformat(),
                        "status": f"BENCH{i}",
                        "execution_time_seconds": 1.0,
                    },
                ).raise_for_status()
                deadline = sent + 4 * args.interval + 30
                while f"sample {i}" not in ARRIVALS and time.time() < deadline:
                    time.sleep(0.05)
                arrived = ARRIVALS.get(f"sample {i}")
                delay = (arrived - sent) if arrived else float("inf")
                delays.append(delay)
                print(f"sample {i}: {delay:.2f} s ({delay / args.interval:.2f} intervals)")
        print(
            f"interval {args.interval:g} s: median {statistics.median(delays):.2f} s,"
            f" max {max(delays):.2f} s ({max(delays) / args.interval:.2f} intervals)"
        )
        if args.ingest_rules:
            _ingest_phases(base, url, rules=args.ingest_rules, seconds=args.ingest_seconds)
    finally:
        service.terminate()
        service.wait(timeout=60)
        receiver.shutdown()
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()

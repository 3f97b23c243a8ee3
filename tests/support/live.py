"""The app served by a real uvicorn in a thread of the test process, on a free local
port: for tests that need real HTTP (generated requests, header limits, slow clients);
and `central-logger serve` itself as a subprocess, for tests of the process."""

from __future__ import annotations

import asyncio
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI


class LiveServer:
    """The socket is bound to port 0 here and handed to uvicorn as it is: the port is
    never released and bound again, so no other process can take it in between."""

    def __init__(self, app: FastAPI) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()


async def trickle_upload(
    url: str,
    path: str,
    headers: dict[str, str],
    *,
    declared_bytes: int = 100_000,
    every_seconds: float = 0.05,
) -> None:
    """A slow upload: declares a `declared_bytes` body and sends it one space (valid
    JSON whitespace) every `every_seconds`, until cancelled; never finishes on its own."""
    host, port = url.removeprefix("http://").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port))
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {declared_bytes}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    try:
        for _ in range(declared_bytes - 1):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(every_seconds)
    finally:
        writer.close()


async def slow_read(url: str, path: str, headers: dict[str, str]) -> None:
    """A slow reader: sends a GET and never reads the answer, until cancelled."""
    host, port = url.removeprefix("http://").split(":")
    _reader, writer = await asyncio.open_connection(host, int(port), limit=1024)
    head = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    try:
        await asyncio.Event().wait()
    finally:
        writer.close()


def p95(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


class LiveProcess:
    """The app served by uvicorn in a process of its own, its output (uvicorn's log and
    anything printed) in `log_path`: for tests that measure the server's latency
    without sharing the test's GIL, or read what it logs."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._env = {**os.environ, **env}
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LiveProcess:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "central_logger.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "info",
        ]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.__exit__()
                    raise RuntimeError(
                        f"the live server did not start: {self.log_path.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.1)

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class ServeProcess:
    """`central-logger serve` as a subprocess on a free port, its output in a file: for
    tests of the process itself (signals, workers, the start-up banner, the wire)."""

    def __init__(
        self,
        env: dict[str, str],
        output: Path,
        *args: str,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = output
        with output.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "central_logger", "serve", "--port", str(self.port), *args],
                env={**os.environ, **env},
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_healthy(self, timeout: float = 60) -> None:
        wait_healthy(self.url, self.process, self.text, timeout=timeout)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers: for cleanup, whatever the test did."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def wait_healthy(
    url: str,
    process: subprocess.Popen[bytes],
    output: Callable[[], str],
    *,
    timeout: float = 60,
) -> None:
    """Until `url`/health answers 200; fails with the process's output if it exits or
    the time runs out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited {process.returncode}:\n{output()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"serve did not become healthy:\n{output()[-3000:]}")


def free_port() -> int:
    """A port free now, for a subprocess that binds it itself (`central-logger serve`
    takes a port, not a socket): released before the child binds it, so another
    process could take it first; in-process servers use LiveServer, which never
    releases its socket."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_kib(pid: int) -> int:
    """The process's resident memory (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")

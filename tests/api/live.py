"""The app served by a real uvicorn in a thread of the test process, on a free local
port: for tests that need real HTTP (generated requests, header limits, slow clients)."""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI


class LiveServer:
    def __init__(self, app: FastAPI) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

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

"""Moved to tests/support/live.py; this re-export keeps the old import path working for
one merge (new tests import tests.support.live)."""

from tests.support.live import (
    LiveProcess,
    LiveServer,
    ServeProcess,
    free_port,
    p95,
    rss_kib,
    slow_read,
    trickle_upload,
    wait_healthy,
)

__all__ = [
    "LiveProcess",
    "LiveServer",
    "ServeProcess",
    "free_port",
    "p95",
    "rss_kib",
    "slow_read",
    "trickle_upload",
    "wait_healthy",
]

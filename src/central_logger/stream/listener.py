"""The process's one LISTEN connection (docs/live-tail.md): its own, outside the pool,
so no stream ever holds a pooled connection, however many are open. It hears every
notification ingestion sends at commit (logs/events.py) and hands the events to the
hub. When the connection is lost, the hub is told (streams get a `gap` event) and the
listener connects again, backing off up to a few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg

from central_logger.logs.events import CHANNEL, decode_notification
from central_logger.settings import to_libpq_url
from central_logger.stream.hub import LiveHub

logger = logging.getLogger(__name__)

_MAX_BACKOFF_SECONDS = 5.0


async def run_listener(
    database_url: str,
    hub: LiveHub,
    *,
    application_name: str,
    listening: asyncio.Event | None = None,
) -> None:
    """Until cancelled; `listening` is set once the first LISTEN is in place."""
    backoff = 0.1
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(
                to_libpq_url(database_url),
                autocommit=True,
                application_name=f"{application_name}-listen",
                connect_timeout=5,
            )
        except (psycopg.Error, OSError) as exc:
            logger.warning("live tail: cannot connect to listen (%s); retrying", exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
            continue
        try:
            await conn.execute(f"LISTEN {CHANNEL}")
            if listening is not None:
                listening.set()
            backoff = 0.1
            async for notification in conn.notifies():
                try:
                    events = decode_notification(notification.payload)
                except (ValueError, KeyError, TypeError):
                    logger.warning("live tail: a notification that is not ours was ignored")
                    continue
                try:
                    hub.publish(events)
                except Exception:  # a fault of ours must not end the process's feed
                    logger.exception("live tail: publishing events failed")
                # A flush of thousands of logs is hundreds of notifications, read at
                # once: the streams (and every request) get the loop between them.
                await asyncio.sleep(0)
        except (psycopg.Error, OSError) as exc:
            logger.warning("live tail: the listening connection was lost (%s)", exc)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()
        hub.feed_lost()
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)

"""The live tail's fan-out inside one service process (docs/live-tail.md).

The process's one listener (`listener.py`) hands every stored log to `LiveHub.publish`;
the hub keeps the last RESUME events in a ring (for `Last-Event-ID`) and offers each
event to the subscriptions whose tenant and filters it matches. A subscription's
buffer is bounded: when its client reads too slowly, new events are dropped and
counted, and the client is told how many it missed; publishing never waits for a
client. All of it runs on the event loop, with no await between a look at the ring and
a subscription's registration, so a resume neither loses nor repeats an event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections import deque
from collections.abc import Iterable
from typing import Literal

from central_logger.logs.events import LogEvent
from central_logger.logs.matching import matches
from central_logger.logs.models import LogQuery


@dataclasses.dataclass(frozen=True, slots=True)
class Missed:
    """So many events matched while the buffer was full, and were dropped."""

    count: int


@dataclasses.dataclass(frozen=True, slots=True)
class Gap:
    """The resume point is not held (any more, or never was): events may be missing."""

    last_event_id: str
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class Closed:
    """The service is stopping; the client should reconnect (to another process)."""


StreamItem = LogEvent | Missed | Gap | Closed


class StreamRefusedError(Exception):
    """A stream over the limits: the caller answers 429."""

    def __init__(self, reason: Literal["key", "process"], limit: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


class Subscription:
    def __init__(self, *, key: str, query: LogQuery, buffer: int) -> None:
        self.key = key
        self.query = query
        self._buffer = buffer
        self._items: deque[StreamItem] = deque()
        self._events = 0  # log events in `_items`
        self._dropped = 0
        self._closed = False
        self._wake = asyncio.Event()

    def wants(self, event: LogEvent) -> bool:
        tenant = self.query.client_id
        if tenant is not None and event.client_id != tenant:
            return False
        return matches(self.query, event.summary, event.executed_at)

    def offer(self, event: LogEvent) -> None:
        """Never waits: a full buffer drops the event and counts it."""
        if self._events >= self._buffer:
            self._dropped += 1
            return
        if self._dropped:
            # Where the dropped events would have been.
            self._items.append(Missed(self._dropped))
            self._dropped = 0
        self._items.append(event)
        self._events += 1
        self._wake.set()

    def notice(self, item: Gap | Closed) -> None:
        if isinstance(item, Closed):
            self._closed = True
        else:
            self._items.append(item)
        self._wake.set()

    def next_ready(self) -> StreamItem | None:
        """The next item if one is waiting (never a `Closed`: that comes from `next`)."""
        if self._items:
            item = self._items.popleft()
            if isinstance(item, LogEvent):
                self._events -= 1
            return item
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            return Missed(dropped)
        return None

    async def next(self) -> StreamItem:
        while True:
            if self._items:
                item = self._items.popleft()
                if isinstance(item, LogEvent):
                    self._events -= 1
                return item
            if self._dropped:
                dropped, self._dropped = self._dropped, 0
                return Missed(dropped)
            if self._closed:
                return Closed()
            self._wake.clear()
            await self._wake.wait()


class LiveHub:
    def __init__(self, *, resume_events: int, buffer_events: int, per_key: int, per_process: int):
        self._ring: deque[LogEvent] = deque(maxlen=resume_events)
        # Event id -> its place in this process's order (`_published` counts them all).
        self._places: dict[str, int] = {}
        self._published = 0
        self._buffer = buffer_events
        self._per_key = per_key
        self._per_process = per_process
        self._subscriptions: set[Subscription] = set()
        self._by_key: dict[str, int] = {}
        self.closed = False

    @property
    def streams(self) -> int:
        return len(self._subscriptions)

    def publish(self, events: Iterable[LogEvent]) -> None:
        for event in events:
            if len(self._ring) == self._ring.maxlen:
                del self._places[self._ring[0].id]
            self._ring.append(event)
            self._places[event.id] = self._published
            self._published += 1
            for subscription in self._subscriptions:
                if subscription.wants(event):
                    subscription.offer(event)

    def feed_lost(self) -> None:
        """The listener lost its connection: what was stored meanwhile was never heard.
        Every stream is told, and no resume may reach across the hole."""
        self._ring.clear()
        self._places.clear()
        for subscription in self._subscriptions:
            subscription.notice(Gap("", "the service lost its event feed for a moment"))

    def subscribe(self, *, key: str, query: LogQuery, last_event_id: str | None) -> Subscription:
        """A new stream (StreamRefusedError beyond the limits), replaying what followed
        `last_event_id` when the ring still holds it, else opening with a `Gap`."""
        if self.closed or len(self._subscriptions) >= self._per_process:
            raise StreamRefusedError("process", self._per_process)
        if self._by_key.get(key, 0) >= self._per_key:
            raise StreamRefusedError("key", self._per_key)
        subscription = Subscription(key=key, query=query, buffer=self._buffer)
        if last_event_id is not None:
            place = self._places.get(last_event_id)
            if place is None:
                subscription.notice(
                    Gap(last_event_id, "this service no longer holds (or never held) that event")
                )
            else:
                first = place + 1 - (self._published - len(self._ring))
                for event in itertools.islice(self._ring, first, None):
                    if subscription.wants(event):
                        subscription.offer(event)
        self._subscriptions.add(subscription)
        self._by_key[key] = self._by_key.get(key, 0) + 1
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.discard(subscription)
            left = self._by_key[subscription.key] - 1
            if left:
                self._by_key[subscription.key] = left
            else:
                del self._by_key[subscription.key]

    def close(self) -> None:
        """Shutdown: every stream ends (its client reconnects elsewhere); no new ones."""
        self.closed = True
        for subscription in self._subscriptions:
            subscription.notice(Closed())

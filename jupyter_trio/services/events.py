"""Server push: one in-process stream of numbered events that websocket clients follow.

Publishers (the task repository's change hook, the runner's progress pass, the dataset importer, the GPU
sampler) call :meth:`EventBus.publish` from any thread. Each event gets the next id; the last ``backlog``
events are kept so a client that reconnects with ``since=<id>`` gets exactly what it missed, and a client
that fell further behind is told to refetch (``since`` older than the backlog). Subscribers are asyncio
queues bound to their own loop; a slow subscriber's queue is bounded and, when full, the subscriber is
marked lost and told to resubscribe, so a stuck client never holds the server's memory.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# A queue this long and still not read: the client is too slow and must refetch.
SUBSCRIBER_QUEUE = 10_000


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    data: dict[str, Any]
    time: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "time": self.time, **self.data}


class Subscription:
    """What one listener receives: events in id order, or a ``None`` once it fell behind."""

    def __init__(self, bus: EventBus, loop: asyncio.AbstractEventLoop):
        self.bus = bus
        self.loop = loop
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.lost = False

    def _offer(self, event: Event) -> None:
        if self.lost:
            return
        if self.queue.qsize() >= SUBSCRIBER_QUEUE:
            self.lost = True
            self.queue.put_nowait(None)
            return
        self.queue.put_nowait(event)

    async def get(self) -> Event | None:
        return await self.queue.get()

    def close(self) -> None:
        self.bus._unsubscribe(self)


class EventBus:
    def __init__(self, backlog: int = 5000):
        self.backlog: deque[Event] = deque(maxlen=backlog)
        # Ids start from the clock so they keep growing across server restarts: an id a client kept from
        # the previous server is older than this backlog and gets a refetch, never a silent gap.
        self._start = int(time.time() * 1000)
        self._ids = itertools.count(self._start)
        self._last_issued = self._start - 1
        self._evicted = self._start - 1  # the newest kept event that fell out of the backlog
        self._lock = threading.Lock()
        self._subscribers: list[Subscription] = []
        # called with the number of listeners whenever it changes (the GPU sampler starts and stops on it)
        self.on_listeners: list[Callable[[int], None]] = []

    @property
    def last_id(self) -> int:
        return self._last_issued

    @property
    def listeners(self) -> int:
        return len(self._subscribers)

    def publish(self, type: str, *, keep: bool = True, **data: Any) -> Event:
        """Number and hand out one event; safe from any thread. ``keep=False``: a snapshot that the next
        one replaces (GPU readings), not kept for reconnecting clients."""
        with self._lock:
            event = Event(next(self._ids), type, data)
            self._last_issued = event.id
            if keep:
                if len(self.backlog) == self.backlog.maxlen:
                    self._evicted = self.backlog[0].id
                self.backlog.append(event)
            # handed to each subscriber's loop in id order, under the lock, from whatever thread publishes
            gone = []
            for sub in self._subscribers:
                try:
                    sub.loop.call_soon_threadsafe(sub._offer, event)
                except RuntimeError:  # that loop is closed: its listener is gone
                    gone.append(sub)
        for sub in gone:
            self._unsubscribe(sub)  # counted like any other leaving listener
        return event

    def subscribe(self, since: int | None = None) -> tuple[Subscription, list[Event] | None, int]:
        """A new subscription, the events after ``since`` (``None``: the backlog no longer reaches back) and
        the newest id published before it started.

        Taken under one lock, so nothing published meanwhile is missed or delivered twice.
        """
        sub = Subscription(self, asyncio.get_running_loop())
        with self._lock:
            newest = self._last_issued
            missed: list[Event] | None = []
            if since is not None:
                if since > self._last_issued or since < self._evicted or since < self._start - 1:
                    missed = None  # from a previous server, past the backlog, or made up
                else:
                    missed = [e for e in self.backlog if e.id > since]
            self._subscribers.append(sub)
            count = len(self._subscribers)
        self._listeners_changed(count)
        return sub, missed, newest

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub not in self._subscribers:
                return
            self._subscribers.remove(sub)
            count = len(self._subscribers)
        self._listeners_changed(count)

    def _listeners_changed(self, count: int) -> None:
        for hook in self.on_listeners:
            hook(count)

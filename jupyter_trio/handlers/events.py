"""``WS /trio/api/events``: the server's push channel (tasks, runs, progress, datasets, GPUs)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tornado import websocket

from ..schemas.native import EventsQuery
from ..services.events import Subscription
from .base import TrioHandler, operation


class EventsHandler(TrioHandler, websocket.WebSocketHandler):
    """First a ``hello`` (the last event id, whether a refetch is needed, running progress, GPU readings),
    then every event as it is published, each ``{"id", "type", "time", ...}``.

    ``?since=<id>`` (the last id a client received) first replays what it missed; when the server can no
    longer tell (restarted, or the client is past the backlog) ``hello.refetch`` is true: load the lists
    again over REST and carry on from ``hello.last_id``. A client too slow to keep up gets a ``reset``
    message and the socket is closed; it reconnects and refetches.
    """

    _pump_task: asyncio.Task | None = None
    _sub: Subscription | None = None

    @operation(
        "Websocket: server push of task, progress, dataset and GPU events (reconnect with since=<id>)",
        query=EventsQuery,
        tag="events",
    )
    async def get(self, *args: Any) -> None:  # type: ignore[override]
        self._since = self.parse_query(EventsQuery).since
        self.require_websocket()
        await websocket.WebSocketHandler.get(self, *args)

    def open(self, *args: Any) -> None:  # type: ignore[override]
        sub, missed, newest = self.trio.event_bus.subscribe(self._since)
        self._sub = sub
        sources = self.trio.event_sources
        hello = {
            "type": "hello",
            # the replayed events (if any) follow, up to this id; live ones come after it
            "last_id": newest,
            "refetch": self._since is not None and missed is None,
            "progress": sources.current_progress(),
            "gpus": sources.gpu_readings or sources.read_gpus(),
        }
        self._pump_task = asyncio.ensure_future(self._pump(hello, missed or []))

    def on_message(self, message: str | bytes) -> None:
        pass  # one-way: a client changes what it hears by reconnecting with ``since``

    def on_close(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        if self._pump_task is not None:
            self._pump_task.cancel()

    async def _pump(self, hello: dict[str, Any], missed: list) -> None:
        try:
            await self.write_message(json.dumps(hello))
            for event in missed:
                await self.write_message(json.dumps(event.to_dict()))
            while self._sub is not None:
                event = await self._sub.get()
                if event is None:
                    await self.write_message(json.dumps({"type": "reset", "reason": "client fell behind"}))
                    self.close(4000, "fell behind; reconnect and refetch")
                    return
                await self.write_message(json.dumps(event.to_dict()))
        except (websocket.WebSocketClosedError, asyncio.CancelledError):
            return

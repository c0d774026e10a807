"""Background updates that stop by themselves: while a panel is shown, and not after.

Each panel holds a :class:`Heartbeat`, an invisible anywidget whose views ping the kernel every two
seconds and stop when the view is removed (cell output cleared, notebook closed). :class:`Live` runs a
panel's update loop in one thread only while the panel is open and a view pinged recently (or, before any
view has pinged, for a short grace period); when the pings stop the thread ends, and the next ping starts it
again. Closing the panel ends it for good.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

_ESM = """
function render({ model, el }) {
  el.style.display = "none";
  const ping = () => model.send({ type: "alive" });
  ping();
  const timer = setInterval(ping, 2000);
  return () => clearInterval(timer);
}
export default { render };
"""


class Heartbeat(anywidget.AnyWidget):
    _esm = traitlets.Unicode(_ESM).tag(sync=True)

    def __init__(self, on_ping: Callable[[], None] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.last_ping: float | None = None
        self._on_ping = on_ping
        self.on_msg(self._handle)

    def _handle(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "alive":
            self.last_ping = time.monotonic()
            if self._on_ping is not None:
                self._on_ping()


class Live:
    """Run ``target(should_stop)`` in a thread while the panel is visible; ``should_stop()`` turns true when
    the panel is closed or no view has pinged for ``stale_s`` (``grace_s`` before the first ping)."""

    def __init__(
        self,
        target: Callable[[Callable[[], bool]], None],
        *,
        stale_s: float = 8.0,
        grace_s: float | None = None,
    ):
        self.target = target
        self.stale_s = stale_s
        self.grace_s = grace_s if grace_s is not None else float(os.environ.get("TRIO_PANEL_GRACE_S", "30"))
        self.heartbeat = Heartbeat(on_ping=self.ensure_running)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._started_at = time.monotonic()

    def visible(self) -> bool:
        last = self.heartbeat.last_ping
        if last is None:
            return time.monotonic() - self._started_at < self.grace_s
        return time.monotonic() - last < self.stale_s

    def should_stop(self) -> bool:
        return self._closed or not self.visible()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ensure_running(self) -> None:
        with self._lock:
            if self._closed or self.running:
                return
            self._thread = threading.Thread(
                target=self.target, args=(self.should_stop,), daemon=True, name="trio-panel"
            )
            self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._closed = True
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.heartbeat.close()


def on_events(
    request: Callable[[int | None], HTTPRequest],
    tick: Callable[[], None],
    wants: Callable[[dict[str, Any]], bool],
    min_gap: float = 0.5,
) -> Callable[[Callable[[], bool]], None]:
    """A Live target that calls ``tick`` once, then whenever the server's events channel
    (``/trio/api/events``) pushes an event ``wants`` accepts — at most once per ``min_gap`` seconds, with
    one more call after a burst. No polling: between events nothing is asked of the server.
    ``request(since)`` builds the websocket request (``since``: the last event id seen, for a reconnect)."""

    def loop(should_stop: Callable[[], bool]) -> None:
        asyncio.run(_follow_events(request, tick, wants, min_gap, should_stop))

    return loop


async def _follow_events(request, tick, wants, min_gap, should_stop) -> None:
    since: int | None = None
    dirty, last = True, 0.0
    while not should_stop():
        try:
            conn = await websocket_connect(request(since))
        except Exception:
            await asyncio.sleep(1.0)
            continue
        try:
            while not should_stop():
                if dirty and time.monotonic() - last >= min_gap:
                    tick()
                    dirty, last = False, time.monotonic()
                try:
                    raw = await asyncio.wait_for(conn.read_message(), 0.2)
                except TimeoutError:
                    continue
                if raw is None:  # the server went away: reconnect, then catch up
                    dirty = True
                    break
                event = json.loads(raw)
                if isinstance(event.get("id"), int):
                    since = event["id"]
                kind = event.get("type")
                if kind == "hello":
                    since = event.get("last_id", since)
                    dirty = dirty or bool(event.get("refetch"))
                elif kind == "reset":
                    since, dirty = None, True
                    break
                elif wants(event):
                    dirty = True
        finally:
            conn.close()

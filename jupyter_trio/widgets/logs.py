"""LogPanel: a run's log followed live over the server's websocket; follow/pause, search, run choice."""

from __future__ import annotations

import asyncio
import html
import json
from collections import deque
from collections.abc import Callable
from typing import Any

import ipywidgets as w
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from ..client import ServiceClient
from .base import Panel, newest_task
from .labels import task_state


class LogPanel(Panel):
    title = "Logs"

    def __init__(
        self,
        task: str | None = None,
        client: ServiceClient | None = None,
        *,
        run: int | None = None,
        max_lines: int = 5000,
        shown_lines: int = 400,
        live: bool = True,
    ):
        """``task``: a task name; default the newest task."""
        super().__init__(client, live=live)
        self.task = task if task is not None else newest_task(self.client, trans=self.trans)
        self.lines: deque[str] = deque(maxlen=max_lines)
        self.shown_lines = shown_lines
        self.next_offset = 0
        self.partial = ""
        self.ended: str | None = None
        self._restart = False
        trans = self.trans
        self.run_choice = w.Dropdown(description=trans.__("run"), options=[], layout=w.Layout(width="160px"))
        self.follow = w.ToggleButton(
            value=True, description=trans.__("follow"), tooltip=trans.__("pause to read; new lines are kept")
        )
        self.search = w.Text(placeholder=trans.__("search"), layout=w.Layout(width="220px"))
        self.status = w.HTML()
        self.output = w.HTML(layout=w.Layout(border="1px solid #ddd"))
        self.follow.observe(lambda _c: self.render(), names="value")
        self.search.observe(lambda _c: self.render(), names="value")
        self.refresh_runs(run)
        self.run_choice.observe(lambda _c: self.switch_run(), names="value")
        self.compose(w.HBox([self.run_choice, self.follow, self.search, self.status]), self.output)

    # ---- runs
    def refresh_runs(self, run: int | None = None) -> None:
        detail = self.client.call("GET", f"trio/api/tasks/{self.task}")
        runs = [r["run_index"] for r in detail.get("runs", [])] or (
            [detail["run_index"]] if detail["run_index"] else []
        )
        self.run_choice.options = runs
        if runs:
            self.run_choice.value = run if run in runs else runs[-1]

    def switch_run(self) -> None:
        self.lines.clear()
        self.next_offset, self.partial, self.ended = 0, "", None
        self._restart = True
        self.render()
        if self.live is not None:
            self.live.ensure_running()

    def refresh(self) -> None:
        self.refresh_runs(self.run_choice.value)

    # ---- the websocket
    def live_target(self) -> Callable[[Callable[[], bool]], None]:
        return lambda should_stop: asyncio.run(self.follow_stream(should_stop))

    def stream_request(self) -> HTTPRequest:
        base = self.client.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        url = f"{base}trio/api/tasks/{self.task}/logs/stream?offset={self.next_offset}" + (
            f"&run={self.run_choice.value}" if self.run_choice.value else ""
        )
        token = self.client.location.token
        return HTTPRequest(url, headers={"Authorization": f"token {token}"} if token else {})

    async def follow_stream(self, should_stop: Callable[[], bool]) -> None:
        """Read chunks until the run ends (status message) or the panel stops; reconnect on a run switch."""
        while not should_stop() and self.ended is None:
            if not self.run_choice.value:  # never run yet: look again later
                await asyncio.sleep(1.0)
                try:
                    self.refresh_runs()
                except Exception as exc:
                    self.show_error(exc)
                continue
            self._restart = False
            try:
                conn = await websocket_connect(self.stream_request())
            except Exception as exc:
                self.show_error(self.trans.__("log stream: %1", exc))
                await asyncio.sleep(2.0)
                continue
            try:
                while not should_stop() and not self._restart:
                    try:
                        message = await asyncio.wait_for(conn.read_message(), 0.5)
                    except TimeoutError:
                        continue
                    if message is None:
                        break
                    self.handle(json.loads(message))
                    if self.ended is not None:
                        return
            finally:
                conn.close()

    def handle(self, message: dict[str, Any]) -> None:
        if message.get("type") == "chunk":
            text = self.partial + message["content"]
            *complete, self.partial = text.split("\n")
            self.lines.extend(complete)
            self.next_offset = message["next_offset"]
        elif message.get("type") == "status":
            if self.partial:
                self.lines.append(self.partial)
                self.partial = ""
            self.ended = message["status"]
        self.render()

    def render(self) -> None:
        trans = self.trans
        state = (
            trans.__("run %1: %2", self.run_choice.value, task_state(trans, self.ended))
            if self.ended
            else trans.__("run %1: live", self.run_choice.value or "-")
        )
        count = trans._n("%1 line", "%1 lines", len(self.lines))
        self.status.value = (
            f"<span class='trio-log-status'>{html.escape(state)} · {html.escape(count)}</span>"
        )
        if not self.follow.value:
            return
        needle = self.search.value.strip().lower()
        lines = [line for line in self.lines if needle in line.lower()] if needle else list(self.lines)
        body = html.escape("\n".join(lines[-self.shown_lines :]))
        # column-reverse keeps the scroll position at the newest line while following, like `tail -f`
        self.output.value = (
            "<div style='max-height:420px;overflow:auto;display:flex;flex-direction:column-reverse'>"
            f"<pre class='trio-log' style='margin:0;font-size:12px'>{body}</pre></div>"
        )

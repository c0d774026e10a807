"""Run logs: read by offset or tail over HTTP, or follow live over a websocket."""

from __future__ import annotations

import asyncio
import json
import time

from tornado import websocket

from ..domain import Task
from ..schemas.native import LogMatch, LogQuery, LogReply, LogSearchQuery, LogSearchReply
from ..vocabulary import FINAL
from .base import TrioHandler, operation

# Where inotify is missing, how often a follower looks for new bytes (one read attempt per poll): fast while
# the log is busy, slower once it has been quiet for a while. With inotify (runner/folder_watch.py) it
# waits for the run folder to change, and looks at the run's status every STATUS_POLL_S.
POLL_BUSY_S = 0.001
POLL_IDLE_S = 0.01
BUSY_WINDOW_S = 1.0
STATUS_POLL_S = 0.2
WS_CHUNK = 256 * 1024


def resolve_run(handler: TrioHandler, name: str, run: int | None) -> tuple[Task, int]:
    task, row = handler.trio.tasks.run_of(name, run)
    return task, row.run_index


class LogsHandler(TrioHandler):
    @operation(
        "Read a run's log: from a byte offset, or its last N lines",
        query=LogQuery,
        response=LogReply,
        tag="logs",
    )
    def get(self, name: str) -> None:
        q = self.parse_query(LogQuery)
        task, index = resolve_run(self, name, q.run)
        files = self.trio.run_files
        path = files.log_path(self.trio.tasks.run_dir(task.id, index), q.stream)
        chunk = files.tail(path, q.tail) if q.tail is not None else files.read(path, q.offset or 0, q.limit)
        run = self.trio.tasks.run_state(task.id, index)
        status = run.status if run is not None else "deleted"
        self.reply(
            LogReply(
                task_name=task.name,
                run=index,
                stream=q.stream,
                content=chunk.content,
                offset=chunk.offset,
                next_offset=chunk.next_offset,
                size=chunk.size,
                status=status,
            )
        )


class LogSearchHandler(TrioHandler):
    @operation(
        "Search a run's log for lines holding a text, a block at a time (logs of any size)",
        query=LogSearchQuery,
        response=LogSearchReply,
        tag="logs",
    )
    async def get(self, name: str) -> None:
        q = self.parse_query(LogSearchQuery)
        task, index = resolve_run(self, name, q.run)
        path = self.trio.run_files.log_path(self.trio.tasks.run_dir(task.id, index), q.stream)
        found = await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.trio.run_files.search(path, q.q, q.offset, q.max_matches)
        )
        self.reply(
            LogSearchReply(
                task_name=task.name,
                run=index,
                stream=q.stream,
                matches=[LogMatch(offset=o, line=line) for o, line in found.matches],
                next_offset=found.next_offset,
                size=found.size,
            )
        )


class LogStreamHandler(TrioHandler, websocket.WebSocketHandler):
    """``{"type": "chunk", ...}`` messages as the log grows, then one ``{"type": "status", ...}``.

    Query: ``run`` (default latest), ``stream`` (output | stdout | stderr), ``offset`` (bytes already
    received: a reconnecting client passes the last ``next_offset`` and gets exactly the rest).
    """

    _pump_task: asyncio.Task | None = None

    @operation(
        "Websocket: follow a run's log live (chunk messages, then a final status message)",
        query=LogQuery,
        tag="logs",
    )
    async def get(self, name: str) -> None:  # type: ignore[override]
        q = self.parse_query(LogQuery)
        self._task, self._run = resolve_run(self, name, q.run)
        self._stream = q.stream
        self._offset = q.offset or 0
        self.require_websocket()
        await websocket.WebSocketHandler.get(self, name)

    def open(self, name: str) -> None:  # type: ignore[override]
        self._pump_task = asyncio.ensure_future(self._pump())

    def on_message(self, message: str | bytes) -> None:
        pass  # the stream is one-way; clients reconnect with an offset instead of sending commands

    def on_close(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()

    def _run_status(self) -> tuple[str, int | None]:
        """The run's status and exit code ("deleted" once its task is gone)."""
        run = self.trio.tasks.run_state(self._task.id, self._run)
        return (run.status, run.exit_code) if run is not None else ("deleted", None)

    async def _pump(self) -> None:
        run_dir = self.trio.tasks.run_dir(self._task.id, self._run)
        path = self.trio.run_files.log_path(run_dir, self._stream)
        offset = self._offset
        checked, final, last_data = 0.0, None, 0.0
        watch = self.trio.folder_watch.subscribe(run_dir)  # None: poll (no inotify, no folder yet)
        try:
            while True:
                if watch is not None:
                    watch.clear()  # before the read: a write after it wakes the wait below at once
                chunk = self.trio.run_files.read(path, offset, WS_CHUNK)
                if chunk.next_offset > offset:
                    last_data = time.monotonic()
                    await self.write_message(
                        json.dumps(
                            {
                                "type": "chunk",
                                "task_name": self._task.name,
                                "run": self._run,
                                "stream": self._stream,
                                "content": chunk.content,
                                "offset": chunk.offset,
                                "next_offset": chunk.next_offset,
                            }
                        )
                    )
                    offset = chunk.next_offset
                    continue
                if final is not None:  # the run had ended and every byte is out
                    await self.write_message(
                        json.dumps(
                            {
                                "type": "status",
                                "task_name": self._task.name,
                                "run": self._run,
                                "status": final[0],
                                "exit_code": final[1],
                                "next_offset": offset,
                            }
                        )
                    )
                    self.close()
                    return
                now = time.monotonic()
                if now - checked > STATUS_POLL_S:
                    checked = now
                    state = self._run_status()
                    if state[0] in FINAL or state[0] == "deleted":
                        final = state  # one more read: the shim wrote everything before the run ended
                        continue
                if watch is None and self.trio.folder_watch.available and run_dir.is_dir():
                    watch = self.trio.folder_watch.subscribe(run_dir)  # the run has started since
                if watch is not None:
                    await watch.wait(STATUS_POLL_S)
                else:
                    await asyncio.sleep(POLL_BUSY_S if now - last_data < BUSY_WINDOW_S else POLL_IDLE_S)
        except (websocket.WebSocketClosedError, asyncio.CancelledError):
            return
        finally:
            if watch is not None:
                watch.close()

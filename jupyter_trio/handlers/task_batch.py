"""pyruns dialect: tasks acted on by the batch (run, delete) and put in order."""

from __future__ import annotations

import asyncio

from ..schemas.native import TaskInfo
from ..schemas.pyruns_parity import (
    TaskBatchActionRequest,
    TaskBatchDeleteReply,
    TaskBatchDeleteRequest,
    TaskBatchRunReply,
    TaskReorderReply,
    TaskReorderRequest,
)
from ..services import task_batch
from .base import TrioHandler, operation
from .tasks import TaskHandler


class TaskBatchRunHandler(TrioHandler):
    @operation(
        "Queue a new run of each named task (those already queued or running are skipped)",
        request=TaskBatchActionRequest,
        response=TaskBatchRunReply,
        tag="tasks",
    )
    def post(self) -> None:
        body = self.parse_body(TaskBatchActionRequest)
        done = task_batch.run_many(self.trio.tasks, body.task_names, body.max_workers)
        self.reply(TaskBatchRunReply.of(done.items, done.skipped))


class TaskBatchDeleteHandler(TrioHandler):
    @operation(
        "Delete each named task and its files (a queued or running one is stopped first)",
        request=TaskBatchDeleteRequest,
        response=TaskBatchDeleteReply,
        tag="tasks",
    )
    def post(self) -> None:
        body = self.parse_body(TaskBatchDeleteRequest)
        deleted = task_batch.delete_many(self.trio.tasks, body.task_names)
        self.reply(TaskBatchDeleteReply(count=len(deleted), deleted=deleted))


class TaskReorderHandler(TaskHandler):
    """``POST /tasks/reorder``; a GET or DELETE of the same path is the task named "reorder", as in pyruns
    (whose router falls through to ``/tasks/{name}`` for the other methods)."""

    @operation(
        "Put tasks in this order (the queue's: consecutive priorities, the first highest) and pin/unpin them",
        request=TaskReorderRequest,
        response=TaskReorderReply,
        tag="tasks",
    )
    def post(self) -> None:
        body = self.parse_body(TaskReorderRequest)
        ordered = task_batch.reorder(self.trio.tasks, [(item.name, item.pinned) for item in body.items])
        self.reply(TaskReorderReply(count=len(ordered), items=[TaskInfo.of(t) for t in ordered]))

    def get(self) -> None:  # type: ignore[override]
        super().get("reorder")

    def delete(self) -> None:  # type: ignore[override]
        super().delete("reorder")


class TaskExportCSVHandler(TrioHandler):
    @operation(
        "The named tasks' runs as CSV: pyruns's columns (name, status, run, start_time, finish_time, "
        "duration_seconds, exit_code, pid), then each parameter and series aggregate",
        request=TaskBatchDeleteRequest,
        content_type="text/csv",
        tag="tasks",
    )
    async def post(self) -> None:
        body = self.parse_body(TaskBatchDeleteRequest)
        text = await asyncio.to_thread(
            task_batch.export_csv, self.trio.tasks, self.trio.run_table, body.task_names
        )
        self.set_header("Content-Disposition", 'attachment; filename="tasks.csv"')
        self.finish(text, set_content_type="text/csv; charset=utf-8")

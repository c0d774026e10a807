"""pyruns dialect: tasks acted on by the batch (run, delete) and put in order."""

from __future__ import annotations

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

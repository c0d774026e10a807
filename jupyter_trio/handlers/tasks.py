"""pyruns dialect: the task list and per-task actions."""

from __future__ import annotations

import asyncio

from ..schemas.native import (
    DeleteQuery,
    EnvRequest,
    NotebookRunFinish,
    NotebookRunOpen,
    NotebookRunReply,
    NotesRequest,
    NotifyRequest,
    PinRequest,
    RenameRequest,
    RunTaskRequest,
    TaskDetail,
    TaskInfo,
    TaskList,
    TaskListQuery,
)
from .base import TrioHandler, operation


class TasksHandler(TrioHandler):
    @operation("List tasks: paginated, filtered, sorted", query=TaskListQuery, response=TaskList, tag="tasks")
    def get(self) -> None:
        q = self.parse_query(TaskListQuery)
        limit = q.limit or q.page_size
        offset = q.offset if q.offset is not None else (q.page - 1) * q.page_size
        items, total = self.trio.tasks.find(
            status=q.status,
            kind=q.kind,
            pinned=q.pinned,
            name=q.name,
            workspace=q.workspace,
            owner=q.owner,
            sort=q.sort,
            descending=q.order == "desc",
            offset=offset,
            limit=limit,
        )
        self.reply(
            TaskList(
                items=[TaskInfo.of(t) for t in items],
                total=total,
                offset=offset,
                limit=limit,
                page=offset // limit + 1,
                page_size=limit,
            )
        )


class _TaskAction(TrioHandler):
    def detail(self, name: str) -> TaskDetail:
        task, runs = self.trio.tasks.detail(name)
        return TaskDetail.with_runs(task, runs, self.trio.tasks.provenance(task, runs))


class TaskHandler(_TaskAction):
    @operation("One task with all its runs", response=TaskDetail, tag="tasks")
    def get(self, name: str) -> None:
        self.reply(self.detail(name))

    @operation(
        "Delete a task and its files (force=true cancels it first)",
        query=DeleteQuery,
        status=204,
        tag="tasks",
    )
    def delete(self, name: str) -> None:
        q = self.parse_query(DeleteQuery)
        self.trio.tasks.delete(name, force=q.force)
        self.set_status(204)
        self.finish()


class TaskRunHandler(_TaskAction):
    @operation(
        "Queue a new run slot of the task",
        request=RunTaskRequest,
        response=TaskDetail,
        status=202,
        tag="tasks",
    )
    def post(self, name: str) -> None:
        body = self.parse_body(RunTaskRequest)
        self.trio.tasks.run(
            name, priority=body.priority, gpus=body.gpus, max_retries=body.max_retries, retry_on=body.retry_on
        )
        self.reply(self.detail(name), 202)


class TaskCancelHandler(_TaskAction):
    @operation(
        "Cancel the task's queued or running run (SIGTERM, SIGKILL after the grace period)",
        response=TaskDetail,
        status=202,
        tag="tasks",
    )
    def post(self, name: str) -> None:
        self.trio.tasks.cancel(name)
        self.reply(self.detail(name), 202)


class TaskPinHandler(_TaskAction):
    @operation(
        "Pin or unpin (toggle when 'pinned' is omitted)", request=PinRequest, response=TaskDetail, tag="tasks"
    )
    def post(self, name: str) -> None:
        self.trio.tasks.pin(name, self.parse_body(PinRequest).pinned)
        self.reply(self.detail(name))


class TaskNotesHandler(_TaskAction):
    @operation("Replace the task's notes", request=NotesRequest, response=TaskDetail, tag="tasks")
    def patch(self, name: str) -> None:
        self.trio.tasks.set_notes(name, self.parse_body(NotesRequest).notes)
        self.reply(self.detail(name))


class TaskEnvHandler(_TaskAction):
    @operation(
        "Replace the task's environment variables (applied to its next runs)",
        request=EnvRequest,
        response=TaskDetail,
        tag="tasks",
    )
    def patch(self, name: str) -> None:
        self.trio.tasks.set_env(name, self.parse_body(EnvRequest).env)
        self.reply(self.detail(name))


class TaskNotifyHandler(_TaskAction):
    @operation(
        "Replace the Apprise URLs told when a run of the task ends (422 on an unknown scheme); the reply "
        "shows them masked",
        request=NotifyRequest,
        response=TaskDetail,
        tag="tasks",
    )
    async def patch(self, name: str) -> None:
        urls = self.parse_body(NotifyRequest).urls
        await asyncio.to_thread(self.trio.tasks.set_notify, name, urls)  # Apprise loads its plugins once
        self.reply(self.detail(name))


class TaskRenameHandler(_TaskAction):
    @operation("Rename the task", request=RenameRequest, response=TaskDetail, tag="tasks")
    def post(self, name: str) -> None:
        body = self.parse_body(RenameRequest)
        self.trio.tasks.rename(name, body.new_name)
        self.reply(self.detail(body.new_name))


class NotebookRunsHandler(TrioHandler):
    @operation(
        "Open a tracked run from a kernel (jupyter_trio.init): the next run of a notebook task, running",
        request=NotebookRunOpen,
        response=NotebookRunReply,
        status=201,
        tag="tasks",
    )
    def post(self) -> None:
        body = self.parse_body(NotebookRunOpen)
        opened = self.trio.notebook_runs.open(self.username, body.name, body.config, body.pid)
        self.reply(NotebookRunReply.model_validate(opened, from_attributes=True), 201)


class NotebookRunFinishHandler(TrioHandler):
    @operation(
        "Close a run opened from a kernel (jupyter_trio.finish)",
        request=NotebookRunFinish,
        status=204,
        tag="tasks",
    )
    def post(self, name: str) -> None:
        body = self.parse_body(NotebookRunFinish)
        self.trio.notebook_runs.close(name, body.run, body.status)
        self.set_status(204)
        self.finish()

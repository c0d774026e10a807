"""pyruns dialect: one run of a task and two runs side by side (its input, an input diff, a comparison),
and a run's log as a file download."""

from __future__ import annotations

import asyncio

from ..schemas.native import RerunCodeBody, RerunCodeReply, TaskInfo
from ..schemas.pyruns_parity import (
    InputDiffReply,
    LogDownloadQuery,
    RunCompareQuery,
    RunComparisonReply,
    RunDiffQuery,
    RunIndexPath,
    RunInputModel,
    RunInputReply,
)
from ..services import run_compare
from ..services.log_download import open_log
from .base import TrioHandler, operation
from .core import raw_file_headers

CHUNK = 64 * 1024


class _RunHandler(TrioHandler):
    def run_index(self, raw: str) -> int:
        """The run slot of the path: a 422 for anything but 1, 2, ..."""
        return self.validate(RunIndexPath, {"run_index": raw}).run_index


class RunInputHandler(_RunHandler):
    @operation(
        "What a run ran with: its launch (argv, workdir), the task's frozen config or command and variables",
        response=RunInputReply,
        tag="tasks",
    )
    async def get(self, name: str, run_index: str) -> None:
        index = self.run_index(run_index)
        task, found = await asyncio.to_thread(run_compare.run_input, self.trio.tasks, name, index)
        self.reply(
            RunInputReply(
                task_name=task.name,
                run_index=index,
                input=RunInputModel.of(found) if found is not None else None,
            )
        )


class RunDiffHandler(_RunHandler):
    @operation(
        "How the input of run other_run (left) differs from this run's (right): changed fields, unified diff",
        query=RunDiffQuery,
        response=InputDiffReply,
        tag="tasks",
    )
    async def get(self, name: str, run_index: str) -> None:
        index = self.run_index(run_index)
        q = self.parse_query(RunDiffQuery)
        diff = await asyncio.to_thread(run_compare.diff_runs, self.trio.tasks, name, index, q.other_run)
        self.reply(InputDiffReply.of(diff))


class RunCompareHandler(_RunHandler):
    @operation(
        "Two runs side by side, of this task or of other_task: facts, params, metrics, input diff",
        query=RunCompareQuery,
        response=RunComparisonReply,
        tag="tasks",
    )
    async def get(self, name: str, run_index: str) -> None:
        index = self.run_index(run_index)
        q = self.parse_query(RunCompareQuery)
        comparison = await asyncio.to_thread(
            run_compare.compare_runs,
            self.trio.tasks,
            self.trio.run_files,
            name,
            index,
            q.other_run,
            q.other_task,
        )
        self.reply(RunComparisonReply.of(comparison))


class LogDownloadHandler(TrioHandler):
    @operation(
        "Download a run's log as a file (streamed: any size; the bytes there when the request came)",
        query=LogDownloadQuery,
        content_type="application/octet-stream",
        tag="logs",
    )
    async def get(self, name: str) -> None:
        q = self.parse_query(LogDownloadQuery)
        opened = open_log(
            self.trio.tasks,
            self.trio.run_files,
            name,
            run=q.run,
            stream=q.stream,
            log_file_name=q.log_file_name,
            expected_identity=q.log_identity,
        )
        with opened.handle:
            ctype = "application/octet-stream"
            self.set_header("Content-Type", ctype)
            for header, value in raw_file_headers(
                opened.filename, ctype, self.content_security_policy
            ).items():
                self.set_header(header, value)
            self.set_header("Content-Length", str(opened.size))
            self.set_header("X-Pyruns-Log-Identity", opened.identity)
            remaining = opened.size
            while remaining > 0:
                chunk = opened.handle.read(min(CHUNK, remaining))
                if not chunk:  # cut shorter while sent (logs only grow): end the reply short
                    self.request.connection.close()
                    return
                self.write(chunk)
                await self.flush()
                remaining -= len(chunk)
        self.finish(set_content_type=ctype)  # APIHandler.finish would say JSON (an empty log)


class RunRerunCodeHandler(_RunHandler):
    @operation(
        "Rerun with this code: the run's commit and uncommitted diff restored into reruns/<task>-run<n>/ "
        "under the server root (while the commit is still in the repository), and a new task to run it",
        request=RerunCodeBody,
        response=RerunCodeReply,
        status=201,
        tag="tasks",
    )
    async def post(self, name: str, run_index: str) -> None:
        index = self.run_index(run_index)
        body = self.parse_body(RerunCodeBody)
        made = await asyncio.to_thread(
            self.trio.code_rerun.restore, self.username, name, index, queue=body.run
        )
        self.reply(
            RerunCodeReply(
                task=TaskInfo.of(made.task),
                folder=made.folder,
                commit=made.commit,
                applied_diff=made.applied_diff,
                untracked_missing=list(made.untracked_missing),
            ),
            201,
        )

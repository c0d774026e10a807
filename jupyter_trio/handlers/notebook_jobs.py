"""Notebook jobs (native dialect): run a notebook headless with parameters; its outputs. See
services/notebook_jobs.py; the job itself is runner/notebook_job.py."""

from __future__ import annotations

import asyncio

from ..schemas.mapping import from_entity
from ..schemas.notebook_jobs import (
    NotebookJobCreate,
    NotebookJobCreated,
    NotebookParametersQuery,
    NotebookParametersReply,
    OpenOutputsBody,
    OpenOutputsReply,
    OutputInfo,
    OutputsQuery,
    OutputsReply,
)
from .base import TrioHandler, operation


class NotebookJobsHandler(TrioHandler):
    @operation(
        "Run a notebook as a job: its parameters injected after the cell tagged 'parameters' (papermill), "
        "in its kernel, on the runner's queue and GPUs",
        request=NotebookJobCreate,
        response=NotebookJobCreated,
        status=201,
        tag="notebook-jobs",
    )
    async def post(self) -> None:
        body = self.parse_body(NotebookJobCreate)
        task, warnings = await asyncio.to_thread(
            self.trio.notebook_jobs.create,
            self.username,
            body.notebook,
            body.parameters,
            kernel=body.kernel,
            name=body.name,
            gpus=body.gpus,
            gpu_memory=body.gpu_memory,
            priority=body.priority,
            env=body.env,
            run=body.run,
        )
        for warning in warnings:
            self.log.warning("jupyter-trio: notebook job %s: %s", task.name, warning)
        created = NotebookJobCreated.of(task)
        created.warnings = warnings
        self.reply(created, 201)


class NotebookParametersHandler(TrioHandler):
    @operation(
        "A notebook's kernel and the parameters of its cell tagged 'parameters', as papermill reads them",
        query=NotebookParametersQuery,
        response=NotebookParametersReply,
        tag="notebook-jobs",
    )
    async def get(self) -> None:
        q = self.parse_query(NotebookParametersQuery)
        info = await asyncio.to_thread(self.trio.notebook_jobs.inspect, q.notebook)
        self.reply(NotebookParametersReply.of(info))


class TaskOutputsHandler(TrioHandler):
    @operation(
        "The files a run left in its output folder: a notebook job's executed notebook, its HTML, the files "
        "its cells wrote there",
        query=OutputsQuery,
        response=OutputsReply,
        tag="notebook-jobs",
    )
    def get(self, name: str) -> None:
        q = self.parse_query(OutputsQuery)
        task, run, outputs = self.trio.notebook_jobs.outputs(name, q.run)
        self.reply(
            OutputsReply(task=task.name, run=run, outputs=[from_entity(OutputInfo, o) for o in outputs])
        )


class TaskOutputsOpenHandler(TrioHandler):
    @operation(
        "Copy a run's executed notebook and outputs under the server root (jobs/<task>/run-<n>/), where "
        "JupyterLab opens it",
        request=OpenOutputsBody,
        response=OpenOutputsReply,
        tag="notebook-jobs",
    )
    async def post(self, name: str) -> None:
        body = self.parse_body(OpenOutputsBody)
        path = await asyncio.to_thread(self.trio.notebook_jobs.open_copy, name, body.run)
        self.reply(OpenOutputsReply(path=path))

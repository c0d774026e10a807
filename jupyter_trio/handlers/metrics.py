"""Metrics and records of a run: series index, one series (downsampled, incremental), the record."""

from __future__ import annotations

import html
import json
import math
import secrets
from pathlib import Path

from ..errors import NotFound, ValidationFailed
from ..schemas.native import MetricsIndex, RecordsReply, RunQuery, SeriesQuery, SeriesReply
from .base import TrioHandler, operation
from .logs import resolve_run

VIEW = Path(__file__).parent.parent / "static" / "metrics_view.html"


class _RunHandler(TrioHandler):
    def run_dir(self, name: str, run: int | None):
        task, index = resolve_run(self, name, run)
        return task, index, self.trio.tasks.run_dir(task.id, index)


class MetricsIndexHandler(_RunHandler):
    @operation(
        "Series tracked by a run, with their point counts",
        query=RunQuery,
        response=MetricsIndex,
        tag="metrics",
    )
    def get(self, name: str) -> None:
        q = self.parse_query(RunQuery)
        task, index, run_dir = self.run_dir(name, q.run)
        self.reply(
            MetricsIndex(task_name=task.name, run=index, series=self.trio.run_files.series_names(run_dir))
        )


class SeriesHandler(_RunHandler):
    @operation(
        "One tracked series: steps, values, times", query=SeriesQuery, response=SeriesReply, tag="metrics"
    )
    def get(self, name: str, key: str) -> None:
        q = self.parse_query(SeriesQuery)
        task, index, run_dir = self.run_dir(name, q.run)
        series = self.trio.run_files.series(
            run_dir,
            key,
            since_step=q.since_step,
            max_points=q.max_points,
            from_step=q.from_step,
            to_step=q.to_step,
        )
        if series is None:
            raise NotFound(f"run {index} of task {task.name!r} has no series {key!r}")
        values = [v if math.isfinite(v) else None for v in series.values]
        self.reply(
            SeriesReply(
                task_name=task.name,
                run=index,
                key=key,
                steps=series.steps,
                values=values,
                times=series.times,
                last_step=series.steps[-1] if series.steps else q.since_step,
            )
        )


class RecordsHandler(_RunHandler):
    @operation(
        "The run's record (every record() call merged)", query=RunQuery, response=RecordsReply, tag="metrics"
    )
    def get(self, name: str) -> None:
        q = self.parse_query(RunQuery)
        task, index, run_dir = self.run_dir(name, q.run)
        record = self.trio.run_files.record(run_dir)
        self.reply(RecordsReply(task_name=task.name, run=index, record=record))


class MetricsViewHandler(TrioHandler):
    """A live page of a task's tracked series (what PaddleX's /project/task/vdl opened): inline SVG curves
    refreshed every 2 s while the task runs, read from the metrics API with the page's own login."""

    _nonce = ""

    @property
    def content_security_policy(self) -> str:
        return (
            f"frame-ancestors 'self'; default-src 'none'; connect-src 'self'; "
            f"script-src 'nonce-{self._nonce}'; style-src 'nonce-{self._nonce}'"
        )

    @operation("A live HTML view of the task's tracked series", content_type="text/html", tag="metrics")
    def get(self, name: str) -> None:
        task = self.trio.tasks.get(name)
        run = self.get_query_argument("run", "")
        if run and not run.isdigit():
            raise ValidationFailed("run must be a run index")
        self._nonce = secrets.token_urlsafe(16)
        self.set_header("Content-Security-Policy", self.content_security_policy)
        api = f"{self.base_url.rstrip('/')}/trio/api/tasks/{task.id}"
        page = VIEW.read_text().replace("__NONCE__", self._nonce).replace("__TITLE__", html.escape(task.name))
        page = page.replace("__API__", json.dumps(api)).replace(
            "__RUN__", json.dumps(int(run) if run else None)
        )
        self.finish(page, set_content_type="text/html; charset=utf-8")

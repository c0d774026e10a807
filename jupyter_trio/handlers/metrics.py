"""Metrics and records of a run: series index, one series (downsampled, incremental), the record."""

from __future__ import annotations

import math

from ..errors import NotFound
from ..models import MetricsIndex, RecordsReply, RunQuery, SeriesQuery, SeriesReply
from .base import TrioHandler, operation
from .logs import resolve_run


class _RunHandler(TrioHandler):
    def run_dir(self, name: str, run: int | None):
        task, index = resolve_run(self, name, run)
        return task, index, self.store.layout.run_dir(task["id"], index)


class MetricsIndexHandler(_RunHandler):
    @operation("Series tracked by a run, with their point counts", query=RunQuery, response=MetricsIndex,
               tag="metrics")
    def get(self, name: str) -> None:
        q = self.parse_query(RunQuery)
        task, index, run_dir = self.run_dir(name, q.run)
        self.reply(MetricsIndex(task_name=task["name"], run=index, series=self.trio.metrics.series_names(run_dir)))


class SeriesHandler(_RunHandler):
    @operation("One tracked series: steps, values, times", query=SeriesQuery, response=SeriesReply, tag="metrics")
    def get(self, name: str, key: str) -> None:
        q = self.parse_query(SeriesQuery)
        task, index, run_dir = self.run_dir(name, q.run)
        series = self.trio.metrics.series(run_dir, key, since_step=q.since_step, max_points=q.max_points)
        if series is None:
            raise NotFound(f"run {index} of task {task['name']!r} has no series {key!r}")
        values = [v if math.isfinite(v) else None for v in series.values]
        self.reply(SeriesReply(task_name=task["name"], run=index, key=key, steps=series.steps, values=values,
                               times=series.times, last_step=series.steps[-1] if series.steps else q.since_step))


class RecordsHandler(_RunHandler):
    @operation("The run's record (every record() call merged)", query=RunQuery, response=RecordsReply,
               tag="metrics")
    def get(self, name: str) -> None:
        q = self.parse_query(RunQuery)
        task, index, run_dir = self.run_dir(name, q.run)
        self.reply(RecordsReply(task_name=task["name"], run=index, record=self.trio.metrics.record(run_dir)))

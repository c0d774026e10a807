"""What training runs and their child jobs produced, read back for the dialects: the job's record and
tracked series, an evaluation's result, a sensitivity analysis, an export's log lines.

The files are the trainer job's (``jupyter_trio.trainers.job``); every dialect reads them through here
so none of them knows the folder layout.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from ..domain import JSONObject, Task
from ..errors import Conflict
from ..runner.logs import log_path, read_tail
from ..store import Store
from ..store.metrics import MetricsReader


class TrainingResults:
    def __init__(self, store: Store, metrics: MetricsReader):
        self.store = store
        self.metrics = metrics

    def run_dir(self, task: Task | None) -> Path | None:
        """The folder of the task's latest run (``None`` before its first run)."""
        if not task or not task.run_index:
            return None
        return self.store.layout.run_dir(task.id, task.run_index)

    def record(self, task: Task | None) -> JSONObject:
        """The latest run's merged ``trio.record`` (stage, epoch, best, eval metrics, error...)."""
        run_dir = self.run_dir(task)
        return self.metrics.record(run_dir) if run_dir and run_dir.is_dir() else {}

    def last(self, task: Task, key: str) -> float | None:
        """The newest value of a tracked series of the latest run (loss, lr, speed, eta_s...)."""
        run_dir = self.run_dir(task)
        series = self.metrics.series(run_dir, key) if run_dir and run_dir.is_dir() else None
        return series.values[-1] if series and series.values else None

    def evaluation(self, task: Task) -> JSONObject:
        path = self.store.layout.task_dir(task.id) / "evaluate" / "result.json"
        if not path.is_file():
            raise Conflict(f"task {task.id} has not been evaluated yet")
        return json.loads(path.read_text())

    def sensitivities(self, task: Task) -> JSONObject:
        """The sensitivity analysis: its plot (PNG, base64) and the numbers behind it."""
        folder = self.store.layout.task_dir(task.id) / "prune"
        if not (folder / "sensitivities.png").is_file():
            raise Conflict(f"task {task.id} has no sensitivity analysis yet")
        return {
            "img_data": base64.b64encode((folder / "sensitivities.png").read_bytes()).decode("ascii"),
            "sensitivities": json.loads((folder / "sensitivities.json").read_text()),
        }

    def export_log(self, job: Task | None, lines: int = 200) -> list[str]:
        """The ``[EXPORT]`` lines of an export job's latest log (quantization progress)."""
        run_dir = self.run_dir(job)
        text = read_tail(log_path(run_dir, "output"), lines).content if run_dir else ""
        return [line for line in text.splitlines() if line.startswith("[EXPORT]")]

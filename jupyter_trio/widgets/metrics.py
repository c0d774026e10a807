"""MetricsPanel: live curves of tracked series (bqplot), several runs overlaid, smoothing and log scale,
the evaluation metrics table and the confusion matrix of the last evaluation.

Series are asked for downsampled on the server (``max_points``: min and max of each bucket kept), so a run
with a million points costs the panel a few thousand per refresh.
"""

from __future__ import annotations

from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np

from ..client import NotFoundError, ServiceClient
from .base import Panel, newest_task, table

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard-style exponential moving average (``weight`` 0 = raw), NaNs left as they are."""
    if weight <= 0 or not len(values):
        return values
    out = np.empty_like(values)
    last = np.nan
    for i, v in enumerate(values):
        if np.isnan(v):
            out[i] = np.nan
            continue
        last = v if np.isnan(last) else last * weight + (1 - weight) * v
        out[i] = last
    return out


def _runs(task_or_tasks: Any) -> list[tuple[str, int | None]]:
    """``"T0001"``, ``("T0001", 2)`` or a list of them → [(task, run or None for the latest)]."""
    items = task_or_tasks if isinstance(task_or_tasks, list) else [task_or_tasks]
    return [(item, None) if isinstance(item, str) else (str(item[0]), int(item[1])) for item in items]


class MetricsPanel(Panel):
    title = "Metrics"

    def __init__(
        self,
        task_or_tasks: Any = None,
        client: ServiceClient | None = None,
        *,
        series: list[str] | None = None,
        max_points: int = 2000,
        live: bool = True,
    ):
        """``task_or_tasks``: a task name, ``(name, run)``, or a list of them; default the newest task."""
        super().__init__(client, live=live)
        self.runs = _runs(
            task_or_tasks if task_or_tasks is not None else newest_task(self.client, trans=self.trans)
        )
        self.max_points = max_points
        self.data: dict[tuple[str, str], dict[str, Any]] = {}  # (run label, series) → reply
        self.records: dict[str, dict[str, Any]] = {}
        trans = self.trans
        self.series = w.SelectMultiple(
            description=trans.__("series"), options=[], rows=4, layout=w.Layout(width="300px")
        )
        self._wanted = list(series or [])
        self.smoothing = w.FloatSlider(
            value=0.0, min=0.0, max=0.99, step=0.01, description=trans.__("smoothing")
        )
        self.log_scale = w.Checkbox(value=False, description=trans.__("log scale"), indent=False)
        self.x = bq.LinearScale()
        self.y_linear, self.y_log = bq.LinearScale(), bq.LogScale()
        self.axes = [
            bq.Axis(scale=self.x, label=trans.__("step")),
            bq.Axis(scale=self.y_linear, orientation="vertical", label=trans.__("value")),
        ]
        self.figure = bq.Figure(
            marks=[],
            axes=self.axes,
            legend_location="top-right",
            layout=w.Layout(width="100%", height="360px"),
            animation_duration=0,
        )
        self.eval_table = w.HTML()
        self.confusion = w.Box()
        for control in (self.series, self.smoothing, self.log_scale):
            control.observe(lambda _c: self.draw(), names="value")
        self.compose(
            w.HBox([self.series, w.VBox([self.smoothing, self.log_scale])]),
            self.figure,
            self.eval_table,
            self.confusion,
        )
        self.safe_refresh()

    def wants(self, event: dict[str, Any]) -> bool:
        """New points (progress events carry a running run's point count), or a shown task's state change."""
        task = event.get("task") or {}
        shown = {name for name, _ in self.runs}
        return event.get("type", "").startswith("task") and bool({task.get("id"), task.get("name")} & shown)

    @staticmethod
    def label(task: str, run: int | None) -> str:
        return task if run is None else f"{task}#{run}"

    def refresh(self) -> None:
        keys: list[str] = []
        for task, run in self.runs:
            params = {"run": run} if run else {}
            try:
                index = self.client.call("GET", f"trio/api/tasks/{task}/metrics", params=params)
            except NotFoundError:
                continue  # not started yet
            keys += [k for k in index["series"] if k not in keys]
            for key in index["series"]:
                self.data[(self.label(task, run), key)] = self.client.call(
                    "GET",
                    f"trio/api/tasks/{task}/metrics/{key}",
                    params={**params, "max_points": self.max_points},
                )
            self.records[self.label(task, run)] = self.client.call(
                "GET", f"trio/api/tasks/{task}/records", params=params
            )["record"]
        keys = sorted(keys)
        if list(self.series.options) != keys:
            chosen = [k for k in (self.series.value or self._wanted or keys[:1]) if k in keys]
            if not chosen and keys:
                chosen = ["loss"] if "loss" in keys else keys[:1]
            self.series.options = keys
            self.series.value = tuple(chosen)
        self.draw()
        self.show_evaluation()

    def lines(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(legend, steps, values) of every chosen series of every run, smoothed."""
        out = []
        for (label, key), reply in sorted(self.data.items()):
            if key not in self.series.value or not reply["steps"]:
                continue
            values = np.array([np.nan if v is None else v for v in reply["values"]], dtype=float)
            out.append(
                (
                    f"{label} {key}",
                    np.asarray(reply["steps"], dtype=float),
                    smooth(values, self.smoothing.value),
                )
            )
        return out

    def draw(self) -> None:
        y = self.y_log if self.log_scale.value else self.y_linear
        self.axes[1].scale = y
        marks = []
        for i, (name, steps, values) in enumerate(self.lines()):
            if self.log_scale.value:
                values = np.where(values > 0, values, np.nan)
            marks.append(
                bq.Lines(
                    x=steps,
                    y=values,
                    scales={"x": self.x, "y": y},
                    labels=[name],
                    display_legend=True,
                    colors=[COLORS[i % len(COLORS)]],
                )
            )
        self.figure.marks = marks

    def show_evaluation(self) -> None:
        rows, matrix = [], None
        for label, record in self.records.items():
            metrics = record.get("eval_metrics") or {}
            scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
            if scalars:
                rows.append(
                    [label, record.get("epoch", ""), ", ".join(f"{k}={v:.4f}" for k, v in scalars.items())]
                )
            if "confusion_matrix" in metrics:
                matrix = (label, metrics["confusion_matrix"], metrics.get("labels") or [])
        trans = self.trans
        headers = [trans.__("run"), trans.__("epoch"), trans.__("evaluation")]
        self.eval_table.value = table(headers, rows) if rows else ""
        if matrix is None:
            self.confusion.children = ()
            return
        label, cm, names = matrix
        grid = bq.GridHeatMap(
            color=np.asarray(cm, dtype=float),
            scales={
                "row": bq.OrdinalScale(),
                "column": bq.OrdinalScale(),
                "color": bq.ColorScale(scheme="Blues"),
            },
            row=names or list(range(len(cm))),
            column=names or list(range(len(cm))),
        )
        title = trans.__("confusion matrix of %1 (rows: truth, columns: prediction)", label)
        self.confusion.children = (
            bq.Figure(marks=[grid], title=title, padding_y=0, layout=w.Layout(width="420px", height="380px")),
        )

"""``dashboard()``: every panel in tabs, for one task (the newest by default)."""

from __future__ import annotations

import ipywidgets as w

from ..client import ServiceClient
from .base import close_tree, newest_task
from .checkpoints import CheckpointPanel
from .datasets import DatasetPanel
from .i18n import translator_for
from .logs import LogPanel
from .metrics import MetricsPanel
from .tasks import TaskPanel


class Dashboard(w.Tab):
    def __init__(self, client: ServiceClient | None = None, task: str | None = None):
        super().__init__()
        self.client = client if client is not None else ServiceClient()
        self.trans = trans = translator_for(self.client)  # the panels' language (read once per client)
        if task is None:
            try:
                task = newest_task(self.client)
            except ValueError:  # no task yet: tasks and datasets only
                task = None
        self.task = task
        self.panels: list[w.Widget] = [TaskPanel(self.client), DatasetPanel(self.client)]
        titles = [trans.__("Tasks"), trans.__("Datasets")]
        if task is not None:
            detail = self.client.call("GET", f"trio/api/tasks/{task}")
            self.panels += [MetricsPanel(task, self.client), LogPanel(task, self.client)]
            titles += [trans.__("Metrics · %1", task), trans.__("Logs · %1", task)]
            if detail["kind"] in ("train", "prune"):
                self.panels.append(CheckpointPanel(detail["id"], self.client))
                titles.append(trans.__("Checkpoints"))
        self.children = self.panels
        for i, title in enumerate(titles):
            self.set_title(i, title)

    def close(self) -> None:
        for panel in self.panels:
            panel.close()
        close_tree(self)


def dashboard(client: ServiceClient | None = None, task: str | None = None) -> Dashboard:
    """All panels in tabs: tasks, datasets, and the metrics, log and checkpoints of ``task`` (default: the
    newest task). With no client, the server is found from this kernel."""
    return Dashboard(client, task)

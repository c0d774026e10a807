"""DatasetPanel: datasets with status and counts; create + import from a server folder with progress; split
with sliders; a preview grid with labels, boxes or masks drawn by the server; per-class counts."""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import quote

import bqplot as bq
import ipywidgets as w

from ..client import ServiceClient
from ..vocabulary import DATASET_TYPES
from .base import Panel, table
from .labels import dataset_state, dataset_type

TYPES = list(DATASET_TYPES)
STAGES = {
    "empty": 0,
    "checking": 30,
    "copying": 70,
    "imported": 100,
    "split": 100,
    "check_failed": 100,
    "copy_failed": 100,
}


class DatasetPanel(Panel):
    title = "Datasets"

    def wants(self, event: dict[str, Any]) -> bool:
        return event.get("type", "").startswith("dataset")

    def __init__(self, client: ServiceClient | None = None, *, preview_count: int = 8, live: bool = True):
        super().__init__(client, live=live)
        self.datasets: list[dict[str, Any]] = []
        self.preview_count = preview_count
        self.table = w.HTML(layout=w.Layout(max_height="260px", overflow="auto"))
        trans = self.trans
        self.name = w.Text(description=trans.__("name"), layout=w.Layout(width="240px"))
        self.kind = w.Dropdown(
            description=trans.__("type"),
            options=[(dataset_type(trans, t), t) for t in TYPES],  # the value stays the server's name
            layout=w.Layout(width="260px"),
        )
        self.path = w.Text(
            description=trans.__("folder"),
            placeholder=trans.__("a folder under the Jupyter root"),
            layout=w.Layout(width="360px"),
        )
        self.progress = w.IntProgress(
            value=0, min=0, max=100, description=trans.__("import"), layout=w.Layout(width="360px")
        )
        self.import_status = w.HTML()
        create = w.Button(description=trans.__("create + import"), button_style="primary")
        create.on_click(self.action(lambda _b: self.create_and_import()))
        self.chosen = w.Dropdown(description=trans.__("dataset"), options=[], layout=w.Layout(width="360px"))
        self.val = w.FloatSlider(value=0.2, min=0.0, max=0.5, step=0.05, description=trans.__("val"))
        self.test = w.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.05, description=trans.__("test"))
        split = w.Button(description=trans.__("split"))
        split.on_click(self.action(lambda _b: self.split()))
        show = w.Button(description=trans.__("preview"))
        show.on_click(self.action(lambda _b: self.show_preview()))
        self.grid = w.GridBox(layout=w.Layout(grid_template_columns="repeat(4, 160px)", grid_gap="4px"))
        self.x, self.y = bq.OrdinalScale(), bq.LinearScale(min=0)
        self.bars = bq.Bars(x=[], y=[], scales={"x": self.x, "y": self.y})
        self.counts = bq.Figure(
            marks=[self.bars],
            axes=[
                bq.Axis(scale=self.x),
                bq.Axis(scale=self.y, orientation="vertical", label=trans.__("images")),
            ],
            title=trans.__("images per class"),
            layout=w.Layout(width="480px", height="280px"),
            animation_duration=0,
        )
        self.compose(
            self.table,
            w.HBox([self.name, self.kind]),
            w.HBox([self.path, create]),
            w.HBox([self.progress, self.import_status]),
            w.HBox([self.chosen, show]),
            w.HBox([self.val, self.test, split]),
            self.grid,
            self.counts,
        )
        self.safe_refresh()

    def refresh(self) -> None:
        self.datasets = self.client.call("GET", "trio/api/datasets")["items"]
        trans = self.trans
        rows = [
            [
                d["id"],
                d["name"],
                dataset_type(trans, d["dataset_type"]),
                dataset_state(trans, d["status"]),
                d.get("num_images") or "",
                d.get("num_classes") or "",
                d.get("format") or "",
                d.get("message", "")[:60],
            ]
            for d in self.datasets
        ]
        headers = [
            trans.__("id"),
            trans.__("name"),
            trans.__("type"),
            trans.__("status"),
            trans.__("images"),
            trans.__("classes"),
            trans.__("format"),
            trans.__("message"),
        ]
        self.table.value = table(headers, rows)
        options = [
            (trans.__("%1 (%2)", f"{d['id']} {d['name']}", dataset_state(trans, d["status"])), d["id"])
            for d in self.datasets
        ]
        if list(self.chosen.options) != options:
            current = self.chosen.value
            self.chosen.options = options
            if current in [v for _, v in options]:
                self.chosen.value = current

    def dataset(self, did: str) -> dict[str, Any]:
        return self.client.call("GET", f"trio/api/datasets/{did}")

    def create_and_import(self, timeout: float = 600.0) -> dict[str, Any]:
        """Create a dataset and import ``path``, following the import with the progress bar."""
        dataset = self.client.call(
            "POST", "trio/api/datasets", json={"name": self.name.value, "dataset_type": self.kind.value}
        )
        self.client.call("POST", f"trio/api/datasets/{dataset['id']}/import", json={"path": self.path.value})
        deadline = time.monotonic() + timeout
        while True:
            dataset = self.dataset(dataset["id"])
            self.progress.value = STAGES.get(dataset["status"], 0)
            self.progress.bar_style = (
                "danger"
                if dataset["status"].endswith("_failed")
                else ("success" if self.progress.value == 100 else "info")
            )
            state = dataset_state(self.trans, dataset["status"])
            self.import_status.value = html.escape(f"{state} {dataset.get('message', '')[:200]}")
            if dataset["status"] not in ("checking", "copying", "empty") or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        self.safe_refresh()
        self.chosen.value = dataset["id"]
        return dataset

    def split(self) -> dict[str, Any]:
        return self.client.call(
            "POST",
            f"trio/api/datasets/{self.chosen.value}/split",
            json={"val_split": self.val.value, "test_split": self.test.value},
        )

    def show_preview(self) -> list[str]:
        """Sample images of the chosen dataset with their labels drawn, and its per-class counts."""
        did = self.chosen.value
        details = self.client.call("GET", f"trio/api/datasets/{did}/details")
        files = (details["train_files"] + details["val_files"] + details["test_files"]) or list(
            details["file_info"]
        )
        shown = files[: self.preview_count]
        tiles = []
        for path in shown:
            png = self.client.call("GET", f"trio/api/datasets/{did}/preview/{quote(path)}")
            tiles.append(
                w.VBox(
                    [
                        w.Image(value=png, format="png", layout=w.Layout(width="156px")),
                        w.Label(path.rsplit("/", 1)[-1]),
                    ]
                )
            )
        self.grid.children = tiles
        labels = details["labels"]
        self.bars.x = labels
        self.bars.y = [len(details["label_info"].get(label, [])) for label in labels]
        return shown

"""CheckpointPanel: a run's checkpoints with size, time and metric; a download link, delete, and a sampler
loaded from one to predict an uploaded image, the result drawn."""

from __future__ import annotations

import html
import io
import time
from typing import Any
from urllib.parse import urlsplit

import ipywidgets as w

from ..client import SamplingClient, ServiceClient
from .base import Panel, newest_task, table


def _size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


class CheckpointPanel(Panel):
    title = "Checkpoints"

    def wants(self, event: dict[str, Any]) -> bool:
        """Changes of this run: a new epoch saved (progress), or the run ending."""
        task = event.get("task") or {}
        return event.get("type", "").startswith("task") and self.run in (task.get("id"), task.get("name"))

    def __init__(self, run: str | None = None, client: ServiceClient | None = None, *, live: bool = True):
        """``run``: a training run (train or prune task) id; default the newest one."""
        super().__init__(client, live=live)
        self.run = run if run is not None else newest_task(self.client, ("train", "prune"), self.trans)
        self.rest = self.client.create_rest_client()
        self.checkpoints: list[dict[str, Any]] = []
        self.sampler: SamplingClient | None = None
        self.table = w.HTML()
        trans = self.trans
        self.chosen = w.Dropdown(
            description=trans.__("checkpoint"), options=[], layout=w.Layout(width="300px")
        )
        self.link = w.HTML()
        buttons = [
            w.Button(description=label)
            for label in (trans.__("download link"), trans.__("delete"), trans.__("load sampler"))
        ]
        for button, fn in zip(buttons, (self.download_link, self.delete, self.load_sampler)):
            button.on_click(self.action(lambda _b, f=fn: f()))
        self.upload = w.FileUpload(accept="image/*", multiple=False, description=trans.__("image"))
        predict = w.Button(description=trans.__("predict"), button_style="primary")
        predict.on_click(self.action(lambda _b: self.predict_upload()))
        self.sampler_status = w.HTML()
        self.result = w.HTML()
        self.picture = w.Image(format="png", layout=w.Layout(max_width="420px"))
        self.compose(
            self.table,
            w.HBox([self.chosen, *buttons]),
            self.link,
            w.HBox([self.upload, predict, self.sampler_status]),
            self.result,
            self.picture,
        )
        self.safe_refresh()

    def refresh(self) -> None:
        self.checkpoints = self.rest.list_checkpoints(self.run)["checkpoints"]
        rows = []
        for c in self.checkpoints:
            metric = next(
                (f"{k}={v:.4f}" for k, v in c["metrics"].items() if isinstance(v, (int, float))), ""
            )
            rows.append(
                [
                    c["checkpoint_id"],
                    c["checkpoint_type"],
                    c["epoch"] if c["epoch"] is not None else "",
                    _size(c["size_bytes"]),
                    c["time"][:19].replace("T", " "),
                    metric,
                ]
            )
        trans = self.trans
        headers = [
            trans.__("checkpoint"),
            trans.__("type"),
            trans.__("epoch"),
            trans.__("size"),
            trans.__("time (UTC)"),
            trans.__("metric"),
        ]
        self.table.value = table(headers, rows)
        ids = [c["checkpoint_id"] for c in self.checkpoints]
        if list(self.chosen.options) != ids:
            current = self.chosen.value
            self.chosen.options = ids
            if current in ids:
                self.chosen.value = current

    def chosen_checkpoint(self) -> dict[str, Any]:
        found = next((c for c in self.checkpoints if c["checkpoint_id"] == self.chosen.value), None)
        if found is None:
            raise ValueError(self.trans.__("choose a checkpoint first"))
        return found

    def download_link(self) -> str:
        url = self.rest.get_checkpoint_archive_url(self.run, self.chosen_checkpoint()["checkpoint_id"])
        parts = urlsplit(url["url"])  # same origin as the page: the browser's Jupyter login carries it
        href = f"{parts.path}?{parts.query}"
        label = self.trans.__("download %1", f"{self.chosen.value}.tar.gz")
        until = self.trans.__("(valid until %1)", url["expires"])
        self.link.value = (
            f"<a href='{html.escape(href)}' download class='trio-download'>{html.escape(label)}</a> "
            f"{html.escape(until)}"
        )
        return href

    def delete(self) -> None:
        self.rest.delete_checkpoint(self.run, self.chosen_checkpoint()["checkpoint_id"])
        self.link.value = ""

    def load_sampler(self) -> SamplingClient:
        if self.sampler is not None:
            self.sampler.close()
        self.sampler = self.client.create_sampling_client(self.chosen_checkpoint()["trio_path"])
        self.sampler_status.value = html.escape(
            self.trans.__("sampler %1 on %2", self.sampler.sampler_id, self.chosen.value)
        )
        return self.sampler

    def predict(self, image: Any) -> dict[str, Any]:
        if self.sampler is None:
            self.load_sampler()
        started = time.perf_counter()
        out = self.sampler.predict(image)  # type: ignore[union-attr]
        took = self.trans.__("(%1 ms)", f"{(time.perf_counter() - started) * 1000:.0f}")
        result = out["result"]
        if "category" in result:
            text = f"{result['category']} ({result['score']:.3f})"
        elif "objects" in result:
            objects = [f"{o['category']} {o['score']:.2f}" for o in result["objects"]]
            text = ", ".join(objects) if objects else self.trans.__("no objects")
        else:
            text = ", ".join(f"{k}: {v}" for k, v in result.get("pixel_counts", {}).items())
        self.result.value = (
            f"<span class='trio-prediction'>{html.escape(text)}</span> <small>{html.escape(took)}</small>"
        )
        if out["visualization"] is not None:
            buf = io.BytesIO()
            out["visualization"].save(buf, "PNG")
            self.picture.value = buf.getvalue()
        return out

    def predict_upload(self) -> dict[str, Any]:
        if not self.upload.value:
            raise ValueError(self.trans.__("upload an image first"))
        item = self.upload.value[0]
        return self.predict(bytes(item["content"]))

    def close(self) -> None:
        if self.sampler is not None:
            try:
                self.sampler.close()
            except Exception:
                pass
        self.rest.close()
        super().close()

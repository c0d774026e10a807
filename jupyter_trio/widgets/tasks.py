"""TaskPanel: the task table with live status, the actions on a task, a training form built from a model's
recommended parameters, and the batch generator with a preview of its expansion."""

from __future__ import annotations

import html
import json
import time
from typing import Any

import ipywidgets as w
import yaml

from .. import config_yaml
from ..client import ServiceClient
from ..formatting import hms
from ..trainers.model_zoo import MODELS
from .base import Panel, table
from .i18n import Translator
from .labels import task_kind, task_state


def _eta(seconds: float | None) -> str:
    return "" if seconds is None else hms(seconds)


def field_widget(name: str, value: Any) -> w.Widget:
    """An input for one parameter, typed like its default."""
    style = {"description_width": "180px"}
    layout = w.Layout(width="420px")
    if isinstance(value, bool):
        return w.Checkbox(value=value, description=name, style=style, layout=layout, indent=False)
    if isinstance(value, int):
        return w.IntText(value=value, description=name, style=style, layout=layout)
    if isinstance(value, float):
        return w.FloatText(value=value, description=name, style=style, layout=layout)
    if isinstance(value, str):
        return w.Text(value=value, description=name, style=style, layout=layout)
    return w.Text(value=json.dumps(value), description=name, style=style, layout=layout, tooltip="JSON")


def field_value(widget: w.Widget, default: Any) -> Any:
    if isinstance(default, (list, dict)) or default is None:
        try:
            return json.loads(widget.value) if widget.value.strip() else None
        except ValueError:
            return widget.value  # the server names the field as invalid
    return widget.value


def provenance_html(trans: Translator, run: int, found: dict[str, Any] | None) -> str:
    """A run's provenance as a small definition list, in the sidebar's words."""
    e = html.escape
    title = f"<b>{e(trans.__('Provenance of run %1', run))}</b>"
    if not found:
        return f"{title}<div>{e(trans.__('not recorded for this run'))}</div>"
    git = found.get("git")
    if git:
        code = f"<code>{e(git['commit'][:7]) if git.get('commit') else e(trans.__('no commit'))}</code>"
        if git.get("branch"):
            code += f" {e(git['branch'])}"
        if git.get("dirty"):
            code += f" <i>{e(trans.__('dirty'))}</i>"
        code += f" <span style='opacity:.6'>{e(git.get('root', ''))}</span>"
    else:
        code = e(trans.__("not in a git repository"))
    gpus = ", ".join(found.get("gpus") or []) or trans.__("none")
    if found.get("driver"):
        gpus += f" · {trans.__('driver %1', found['driver'])}"
    packages = found.get("packages") or {}
    rows = [
        (trans.__("Code"), code),
        (
            trans.__("Python"),
            f"{e(found.get('python', ''))} <span style='opacity:.6'>{e(found.get('executable', ''))}</span>",
        ),
        (trans.__("Host"), e(f"{found.get('host', '')} ({found.get('platform', '')})")),
        (trans.__("GPUs"), e(gpus)),
        ("", e(trans._n("%1 package", "%1 packages", len(packages)))),
    ]
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{e(k)}</th><td>{v}</td></tr>" for k, v in rows
    )
    return f"{title}<table class='trio-provenance'>{body}</table>"


def action_label(trans: Translator, name: str) -> str:
    """A task or sweep action's button label (the action itself is keyed by ``name``, never by its label)."""
    match name:
        case "start":
            return trans.__("start")
        case "stop":
            return trans.__("stop")
        case "pause":
            return trans.__("pause")
        case "resume":
            return trans.__("resume")
        case "rerun":
            return trans.__("rerun")
        case "cancel":
            return trans.__("cancel")
        case "pin":
            return trans.__("pin")
    return name


class TaskPanel(Panel):
    """Tasks of the server: table, actions (start, stop, resume, rerun, cancel, pin), a params form, a batch
    generator. ``project_id`` limits the table to one project and makes the form train in it."""

    title = "Tasks"

    def __init__(
        self,
        client: ServiceClient | None = None,
        *,
        project_id: str | None = None,
        limit: int = 50,
        live: bool = True,
    ):
        super().__init__(client, live=live)
        self.project_id, self.limit = project_id, limit
        self.tasks: list[dict[str, Any]] = []
        self.progress: dict[
            str, tuple[str, float | None, float | None]
        ] = {}  # name → (status seen, done, eta)
        self.table = w.HTML(layout=w.Layout(max_height="360px", overflow="auto"))
        trans = self.trans
        self.selected = w.Dropdown(description=trans.__("task"), options=[], layout=w.Layout(width="360px"))
        buttons = {
            name: w.Button(description=action_label(trans, name), layout=w.Layout(width="80px"))
            for name in ("start", "stop", "resume", "rerun", "cancel", "pin")
        }
        for name, button in buttons.items():
            button.on_click(self.action(lambda _b, n=name: self.act(n)))
        self.buttons = buttons
        self.epoch = w.BoundedIntText(
            value=0, min=0, max=100_000, description=trans.__("resume epoch"), layout=w.Layout(width="200px")
        )
        self.form = self._params_form()
        self.batch = self._batch_form()
        forms = w.Accordion(children=[self.form, self.batch])
        forms.set_title(0, trans.__("new training task"))
        forms.set_title(1, trans.__("batch of script tasks"))
        self.provenance = w.HTML()  # what the selected task's latest run ran (issue 34)
        self.selected.observe(lambda _change: self.show_provenance(), names="value")
        self.compose(
            self.table,
            w.HBox([self.selected, self.epoch]),
            w.HBox(list(buttons.values())),
            self.provenance,
            forms,
        )
        self.safe_refresh()

    def show_provenance(self) -> None:
        """The selected task's latest run's provenance (code, Python, host, GPUs, packages), as the sidebar's
        details show it; empty before a run."""
        name = self.selected.value
        if not name:
            self.provenance.value = ""
            return
        try:
            task = self.client.call("GET", f"trio/api/tasks/{name}")
        except Exception:  # the panel stays usable; the table's refresh reports errors
            return
        runs = task.get("runs") or []
        self.provenance.value = (
            provenance_html(self.trans, runs[-1]["run_index"], runs[-1].get("provenance")) if runs else ""
        )

    # ---- the table
    def refresh(self) -> None:
        params: dict[str, Any] = {"limit": self.limit, "order": "desc"}
        reply = self.client.call("GET", "trio/api/tasks", params=params)
        tasks = [t for t in reply["items"] if not self.project_id or t.get("project_id") == self.project_id]
        for task in tasks:
            seen = self.progress.get(task["name"])
            if task["status"] == "running" or seen is None or seen[0] != task["status"]:
                self.progress[task["name"]] = (task["status"], *self._progress(task))
        self.tasks = tasks
        trans = self.trans
        rows = []
        for t in tasks:
            _, fraction, eta = self.progress.get(t["name"], ("", None, None))
            rows.append(
                [
                    t["name"],
                    task_kind(trans, t["kind"]),
                    task_state(trans, t["status"]),
                    "" if fraction is None else f"{fraction:.0%}",
                    _eta(eta) if t["status"] == "running" else "",
                    ",".join(map(str, t["assigned_gpus"])) or "-",
                    t["run_index"],
                    trans.__("yes") if t["pinned"] else "",
                    t["notes"][:40],
                ]
            )
        headers = [
            trans.__("task"),
            trans.__("kind"),
            trans.__("status"),
            trans.__("progress"),
            trans.__("ETA"),
            trans.__("GPU"),
            trans.__("run"),
            trans.__("pinned"),
            trans.__("notes"),
        ]
        self.table.value = table(headers, rows)
        names = [t["name"] for t in tasks]
        if list(self.selected.options) != names:
            current = self.selected.value
            self.selected.options = names
            if current in names:
                self.selected.value = current
            elif names:
                self.selected.value = names[0]

    def _progress(self, task: dict[str, Any]) -> tuple[float | None, float | None]:
        """(fraction done, seconds left) from what the job recorded and tracked."""
        if task["run_index"] == 0:
            return None, None
        if task["status"] == "completed":
            return 1.0, 0.0
        try:
            record = self.client.call("GET", f"trio/api/tasks/{task['name']}/records")["record"]
        except Exception:
            return None, None
        fraction = record.get("progress")
        if fraction is None and record.get("num_epochs"):
            fraction = (record.get("epoch") or 0) / record["num_epochs"]
        eta = None
        if task["status"] == "running":
            try:
                series = self.client.call(
                    "GET", f"trio/api/tasks/{task['name']}/metrics/eta_s", params={"max_points": 2}
                )
                eta = series["values"][-1] if series["values"] else None
            except Exception:
                eta = None
        return fraction, eta

    # ---- actions
    def act(self, name: str) -> dict[str, Any] | None:
        task = self.selected.value
        if not task:
            raise ValueError(self.trans.__("choose a task first"))
        if name in ("start", "rerun"):
            return self.client.call("POST", f"trio/api/tasks/{task}/run", json={})
        if name in ("stop", "cancel"):
            return self.client.call("POST", f"trio/api/tasks/{task}/cancel", json={})
        if name == "resume":
            return self.client.call(
                "POST", f"trio/api/tasks/{task}/resume", json={"epoch": self.epoch.value or None}
            )
        return self.client.call("POST", f"trio/api/tasks/{task}/pin", json={})

    # ---- a training task from a model's recommended parameters
    def _params_form(self) -> w.VBox:
        trans = self.trans
        self.project = w.Text(
            value=self.project_id or "", description=trans.__("project"), layout=w.Layout(width="260px")
        )
        self.model = w.Dropdown(
            description=trans.__("model"),
            options=[m for models in MODELS.values() for m in models],
            layout=w.Layout(width="300px"),
        )
        self.fields: dict[str, tuple[w.Widget, Any]] = {}
        self.fields_box = w.VBox()
        self.form_message = w.HTML()
        load = w.Button(description=trans.__("load defaults"))
        load.on_click(self.action(lambda _b: self.load_defaults()))
        create = w.Button(description=trans.__("create"), button_style="primary")
        create.on_click(lambda _b: self.create_task())
        return w.VBox(
            [w.HBox([self.project, self.model, load]), self.fields_box, w.HBox([create, self.form_message])]
        )

    def load_defaults(self) -> dict[str, Any]:
        pid = self.project.value.strip()
        defaults = self.client.call(
            "GET", f"trio/api/projects/{pid}/params", params={"model": self.model.value}
        )
        self.fields = {k: (field_widget(k, v), v) for k, v in defaults["train"].items()}
        self.fields_box.children = [wid for wid, _ in self.fields.values()]
        return defaults["train"]

    def form_values(self) -> dict[str, Any]:
        return {k: field_value(wid, default) for k, (wid, default) in self.fields.items()}

    def create_task(self, start: bool = True) -> dict[str, Any] | None:
        """Create (and start) a train task; a refused parameter is shown under the form, naming the field."""
        from ..client import TrioClientError

        try:
            task = self.client.call(
                "POST",
                f"trio/api/projects/{self.project.value.strip()}/tasks",
                json={"train": self.form_values()},
            )
            if start:
                self.client.call("POST", f"trio/api/tasks/{task['name']}/run", json={})
        except TrioClientError as exc:
            self.form_message.value = f"<span class='trio-error' style='color:#c62828'>{exc.message}</span>"
            return None
        self.form_message.value = html.escape(self.trans.__("created %1", task["name"]))
        self.safe_refresh()
        return task

    # ---- batch generator (pyruns syntax) with a preview
    def _batch_form(self) -> w.VBox:
        trans = self.trans
        self.batch_yaml = w.Textarea(
            value="lr: 0.1 | 0.01\nseed: 1:3\n",
            description=trans.__("config"),
            layout=w.Layout(width="520px", height="100px"),
        )
        self.batch_prefix = w.Text(value="task", description=trans.__("name prefix"))
        self.batch_run = w.Checkbox(value=True, description=trans.__("queue at once"), indent=False)
        self.batch_preview = w.HTML()
        preview = w.Button(description=trans.__("preview"))
        preview.on_click(self.action(lambda _b: self.preview_batch()))
        create = w.Button(description=trans.__("create batch"), button_style="primary")
        create.on_click(self.action(lambda _b: self.create_batch()))
        return w.VBox(
            [
                self.batch_yaml,
                w.HBox([self.batch_prefix, self.batch_run]),
                w.HBox([preview, create]),
                self.batch_preview,
            ]
        )

    def _batch_body(self) -> dict[str, Any]:
        try:
            template = config_yaml.load(self.batch_yaml.value) or {}
        except yaml.YAMLError as exc:
            raise ValueError(self.trans.__("config is not valid YAML: %1", exc)) from None
        return {
            "name_prefix": self.batch_prefix.value,
            "mode": "form",
            "template_value": template,
            "run": self.batch_run.value,
        }

    def preview_batch(self) -> dict[str, Any]:
        reply = self.client.call("POST", "trio/api/generator/preview", json=self._batch_body())
        rows = [
            [i + 1, json.dumps(item.get("config", item))[:120]] for i, item in enumerate(reply["items"][:50])
        ]
        count = html.escape(self.trans._n("%1 task", "%1 tasks", reply["count"]))
        self.batch_preview.value = f"<b>{count}</b>" + table(["#", self.trans.__("config")], rows)
        return reply

    def create_batch(self) -> dict[str, Any]:
        reply = self.client.call("POST", "trio/api/generator/create", json=self._batch_body())
        count = reply.get("count", len(reply.get("items", [])))
        self.batch_preview.value = html.escape(self.trans._n("created %1 task", "created %1 tasks", count))
        return reply

    def wait(self, name: str, *states: str, timeout: float = 120.0) -> dict[str, Any]:
        """Refresh until ``name`` is in one of ``states`` (for scripts and tests)."""
        deadline = time.monotonic() + timeout
        while True:
            self.safe_refresh()
            task = next((t for t in self.tasks if t["name"] == name), None)
            if task is not None and task["status"] in states:
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} is {task and task['status']}, not {states}")
            time.sleep(0.2)

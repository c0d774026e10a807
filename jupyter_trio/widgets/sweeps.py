"""SweepPanel: one sweep (an Optuna search over a script's config; its trials are ordinary tasks): its state,
budget and best trial, the trials table, the optimisation history (each complete trial's value and the best
so far), the searched parameters' importances, and pause / resume / stop.

Live the way the other panels are (live.py): while the sweep runs it follows the server's ``sweep`` events
(a trial started, ended, a new best) and reads the sweep again; once the sweep has ended (completed,
stopped or failed, no trial still running) it stops following, and a resume starts it again.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import bqplot as bq
import ipywidgets as w

from ..client import NotFoundError, ServiceClient
from .base import Panel, table
from .labels import sweep_state, trial_state
from .live import on_events
from .tasks import action_label

ENDED = ("completed", "stopped", "failed")
ACTIONS = ("pause", "resume", "stop")
POINT_COLOR, BEST_COLOR, BAR_COLOR = "#1f77b4", "#d62728", "#1f77b4"


def number(value: Any) -> str:
    """A trial's value or a parameter as shown: floats to 6 significant digits, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={number(v)}" for k, v in params.items())


def best_so_far(values: list[float], direction: str) -> list[float]:
    """The best value after each trial (lowest when minimising, highest when maximising)."""
    pick = min if direction == "minimize" else max
    out: list[float] = []
    for v in values:
        out.append(v if not out else pick(out[-1], v))
    return out


class SweepPanel(Panel):
    """One sweep by name (or id): header, trials, optimisation history, importances, pause/resume/stop."""

    title = "Sweep"

    def __init__(self, name: str, client: ServiceClient | None = None, *, live: bool = True):
        super().__init__(client, live=live)
        self.name = name
        self.sweep: dict[str, Any] | None = None
        self.gone = False  # the sweep was deleted (or never was)
        self.rows: list[list[Any]] = []
        self.importances: dict[str, float] = {}
        self._importances_for: int | None = None  # complete trials when the importances were read
        trans = self.trans
        self.header = w.HTML()
        self.table = w.HTML(layout=w.Layout(max_height="320px", overflow="auto"))
        self.x, self.y = bq.LinearScale(), bq.LinearScale()
        scales = {"x": self.x, "y": self.y}
        self.points = bq.Scatter(
            x=[],
            y=[],
            scales=scales,
            colors=[POINT_COLOR],
            default_size=40,
            labels=[trans.__("trial value")],
            display_legend=True,
        )
        self.best_line = bq.Lines(
            x=[],
            y=[],
            scales=scales,
            colors=[BEST_COLOR],
            interpolation="step-after",
            labels=[trans.__("best so far")],
            display_legend=True,
        )
        self.axes = [
            bq.Axis(scale=self.x, label=trans.__("trial"), tick_format="d"),
            bq.Axis(scale=self.y, orientation="vertical", label=trans.__("value")),
        ]
        self.figure = bq.Figure(
            marks=[self.points, self.best_line],
            axes=self.axes,
            title=trans.__("optimisation history"),
            legend_location="top-right",
            layout=w.Layout(width="100%", height="320px"),
            animation_duration=0,
        )
        self.importance_view = w.HTML()
        self.buttons = {
            name: w.Button(description=action_label(trans, name), layout=w.Layout(width="90px"))
            for name in ACTIONS
        }
        for action, button in self.buttons.items():
            button.on_click(self.action(lambda _b, a=action: self.act(a)))
        self.safe_refresh()  # before compose: a sweep that has ended is never followed
        self.compose(
            self.header,
            w.HBox(list(self.buttons.values())),
            self.table,
            self.figure,
            self.importance_view,
        )

    # ---- live: the sweep's events, while it runs
    @property
    def ended(self) -> bool:
        """The sweep has ended and no trial still runs (or it is gone): nothing more will change."""
        if self.gone:
            return True
        sweep = self.sweep
        if sweep is None:
            return False
        return sweep["state"] in ENDED and not any(t["state"] == "running" for t in sweep["trials"])

    def live_target(self) -> Callable[[Callable[[], bool]], None]:
        follow = on_events(self.events_request, self.safe_refresh, self.wants)

        def loop(should_stop: Callable[[], bool]) -> None:
            if not self.ended:
                follow(lambda: should_stop() or self.ended)

        return loop

    def wants(self, event: dict[str, Any]) -> bool:
        if event.get("type") not in ("sweep", "sweep.deleted"):
            return False
        sweep = event.get("sweep") or {}
        shown = {self.name} | ({self.sweep["id"], self.sweep["name"]} if self.sweep else set())
        return bool({sweep.get("id"), sweep.get("name")} & shown)

    # ---- reading and drawing
    def path(self, tail: str = "") -> str:
        return f"trio/api/sweeps/{quote(self.name, safe='')}{tail}"

    def refresh(self) -> None:
        try:
            sweep = self.client.call("GET", self.path())
        except NotFoundError:
            self.gone = True
            raise
        self.gone = False
        complete = sum(1 for t in sweep["trials"] if t["state"] == "complete")
        if complete != self._importances_for:
            self.importances = (
                self.client.call("GET", self.path("/importances"))["importances"] if complete >= 2 else {}
            )
            self._importances_for = complete
        self.show(sweep)

    def show(self, sweep: dict[str, Any]) -> None:
        trans = self.trans
        self.header.value = self.header_html(sweep)
        self.rows = [
            [
                t["number"],
                trial_state(trans, t["state"]),
                number(t["value"]),
                params_text(t["params"]),
                t["task"],
            ]
            for t in sorted(sweep["trials"], key=lambda t: t["number"])
        ]
        headers = [
            trans.__("trial"),
            trans.__("status"),
            trans.__("value"),
            trans.__("params"),
            trans.__("task"),
        ]
        self.table.value = table(headers, self.rows, "trio-table trio-sweep-trials")
        done = sorted(
            (t for t in sweep["trials"] if t["state"] == "complete" and t["value"] is not None),
            key=lambda t: t["number"],
        )
        xs = [float(t["number"]) for t in done]
        ys = [float(t["value"]) for t in done]
        with self.figure.hold_sync():
            self.axes[1].label = sweep["metric"]
            self.points.x, self.points.y = xs, ys
            self.best_line.x, self.best_line.y = xs, best_so_far(ys, sweep["direction"])
        self.importance_view.value = self.importances_html()
        state = sweep["state"]
        self.buttons["pause"].disabled = state != "running"
        self.buttons["resume"].disabled = state != "paused"
        self.buttons["stop"].disabled = state not in ("running", "paused")
        self.sweep = sweep

    def header_html(self, sweep: dict[str, Any]) -> str:
        trans = self.trans
        esc = html.escape
        title = esc(trans.__("sweep %1", sweep["name"]))
        state = esc(sweep_state(trans, sweep["state"]))
        lines = [f"<b>{title}</b> · <span class='trio-sweep-state'>{state}</span>"]
        if sweep.get("message"):
            lines[0] += f" · {esc(sweep['message'])}"  # the server's words, in English
        if sweep["direction"] == "minimize":
            objective = trans.__("objective: %1, minimized", sweep["metric"])
        else:
            objective = trans.__("objective: %1, maximized", sweep["metric"])
        budget = trans.__("trials done: %1 / %2", sweep["trials_done"], sweep["n_trials"])
        lines.append(f"{esc(budget)} · {esc(objective)}")
        best = sweep.get("best")
        if best:
            text = trans.__("best: %1 (trial %2)", number(best["value"]), best["number"])
            lines.append(
                f"<span class='trio-sweep-best'>{esc(text)}</span> {esc(params_text(best['params']))}"
            )
        else:
            lines.append(esc(trans.__("no complete trial yet")))
        return "<div class='trio-sweep-header'>" + "<br>".join(lines) + "</div>"

    def importances_html(self) -> str:
        trans = self.trans
        title = f"<b>{html.escape(trans.__('parameter importances'))}</b>"
        if not self.importances:
            return f"{title}<br>{html.escape(trans.__('shown once two trials have completed'))}"
        ranked = sorted(self.importances.items(), key=lambda kv: kv[1], reverse=True)
        top = max(v for _, v in ranked) or 1.0
        rows = "".join(
            "<tr>"
            f"<td style='padding:2px 8px'>{html.escape(name)}</td>"
            f"<td style='padding:2px 8px;width:240px'><div style='background:{BAR_COLOR};height:10px;"
            f"width:{max(0.0, value / top) * 100:.1f}%'></div></td>"
            f"<td style='padding:2px 8px'>{value:.3f}</td>"
            "</tr>"
            for name, value in ranked
        )
        return f"{title}<table class='trio-sweep-importances'><tbody>{rows}</tbody></table>"

    # ---- actions
    def act(self, name: str) -> dict[str, Any]:
        """Pause, resume or stop the sweep; a resumed sweep is followed again."""
        if name not in ACTIONS:
            raise ValueError(name)
        sweep = self.client.call("POST", self.path(f"/{name}"), json={})
        self.sweep = sweep
        if self.live is not None and not self.ended:
            self.live.ensure_running()
        return sweep

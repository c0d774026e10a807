"""ComparePanel: runs side by side in a notebook cell, over the run table (``GET /trio/api/runs``): a
``where`` query (a refused one shows the server's message, which names the position, under the box), a
page of the table sorted on the server by a chosen column, a selection of runs (kept across pages and
queries) with "only what differs", a parallel-coordinates plot and a scatter of the page's rows (bqplot),
and a tracked series of the compared runs overlaid (the metrics panel's chart, metrics.py).

The arithmetic is the sidebar's compare view's (labextension/src/compare.ts, parallelcoords.ts): the same
default columns, axes and colour, the same "differs", a value's place on an axis. Live as the other panels
(live.py): while shown it follows the server's task events (a run queued, started or ended may change
which runs match) and the progress of the runs it shows, and reads the page again.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import bqplot as bq
import ipywidgets as w

from ..client import ServiceClient, TrioClientError, UnprocessableEntityError
from ..formatting import hms
from .base import Panel
from .labels import refusal, task_kind, task_state
from .metrics import MetricsPanel
from .runmath import (
    MAX_OVERLAY,
    MISSING_COLOR,
    PAD,
    POINT_COLOR,
    SELECTED_COLOR,
    VIRIDIS,
    Axis,
    Row,
    as_number,
    axis_scale,
    blend,
    build_axis,
    column_ref,
    columns_of,
    default_axes,
    default_color,
    default_columns,
    differing,
    numeric_columns,
    position,
    run_key,
)
from .sweeps import number


# ---- the panel
class ComparePanel(Panel):
    """Runs a ``where`` query selects (every run by default), compared: table, selection, parallel
    coordinates, scatter and metrics. ``columns`` (default every column) and ``sort`` / ``order`` are the
    run table's; the charts show the page's rows (``page_size`` of them)."""

    title = "Compare runs"

    def __init__(
        self,
        where: str = "",
        client: ServiceClient | None = None,
        *,
        columns: list[str] | None = None,
        sort: str = "",
        order: str = "desc",
        page_size: int = 50,
        live: bool = True,
    ):
        super().__init__(client, live=live)
        trans = self.trans
        self.where, self.columns, self.page_size, self.offset = where.strip(), columns, page_size, 0
        self.reply: dict[str, Any] = {"runs": [], "total": 0, "offset": 0, "limit": page_size, "columns": []}
        # every column seen, by name: the selected runs of other pages and queries have theirs
        self.known: dict[str, dict[str, Any]] = {}
        self.selection: dict[str, Row] = {}  # run key → its row, kept across pages and queries
        self.differing: list[str] = []
        self.shown_columns: list[str] = []
        self._quiet = 0
        self._overlay_for = ""
        self._color_chosen = False  # the user chose a colour (or none): no default over it
        wide = w.Layout(width="auto")
        self.query = w.Text(
            value=self.where,
            description=trans.__("where"),
            placeholder=trans.__("Which runs (a query: lr < 1e-3 and status = completed)"),
            continuous_update=False,
            layout=w.Layout(flex="1 1 auto"),
        )
        self.apply_button = w.Button(description=trans.__("Apply"), layout=w.Layout(width="90px"))
        self.query_error = w.HTML("", layout=w.Layout(min_height="0"))
        self.sort = w.Dropdown(description=trans.__("sort by"), options=[(trans.__("(none)"), "")], value="")
        if sort:
            self.sort.options = [*self.sort.options, (sort, sort)]
            self.sort.value = sort
        self.order = w.Dropdown(
            options=[(trans.__("ascending"), "asc"), (trans.__("descending"), "desc")],
            value=order,
            layout=w.Layout(width="130px"),
        )
        self.previous = w.Button(
            icon="chevron-left", tooltip=trans.__("previous page"), layout=w.Layout(width="40px")
        )
        self.next = w.Button(
            icon="chevron-right", tooltip=trans.__("next page"), layout=w.Layout(width="40px")
        )
        self.page_label = w.HTML()
        self.table = w.HTML(layout=w.Layout(max_height="360px", overflow="auto"))
        self.select = w.SelectMultiple(options=[], rows=6, layout=w.Layout(width="320px"))
        self.clear_button = w.Button(description=trans.__("Clear"), layout=w.Layout(width="90px"))
        self.selected_label = w.HTML()
        self.only_differs = w.Checkbox(
            value=False,
            description=trans.__("Only what differs"),
            indent=False,
            tooltip=trans.__(
                "Show only the parameters whose values differ among the selected runs "
                "(none selected: the runs shown)"
            ),
        )
        self.selected_view = w.HTML(layout=w.Layout(max_height="240px", overflow="auto"))
        # parallel coordinates: one line per row over axes at x = 0, 1, ...; each line placed on [0, 1]
        self.axes_picker = w.SelectMultiple(description=trans.__("Axes"), options=[], rows=5, layout=wide)
        self.color = w.Dropdown(
            description=trans.__("colour by"), options=[(trans.__("(none)"), "")], value=""
        )
        self.pc_x = bq.LinearScale(min=-0.5, max=0.5)
        self.pc_y = bq.LinearScale(min=-PAD, max=1 + PAD)
        self.pc_color = bq.ColorScale(colors=list(VIRIDIS), min=0.0, max=1.0)
        self.pc_lines = bq.Lines(x=[], y=[], scales={"x": self.pc_x, "y": self.pc_y}, stroke_width=1.5)
        self.pc_figure = bq.Figure(
            marks=[self.pc_lines],
            axes=[],
            fig_margin={"top": 20, "bottom": 40, "left": 60, "right": 90},
            layout=w.Layout(width="100%", height="360px"),
            animation_duration=0,
        )
        self.pc_axes: list[Axis] = []
        # the scatter of two numeric columns, the selected runs in red
        self.scatter_x = w.Dropdown(description=trans.__("x axis"), options=[])
        self.scatter_y = w.Dropdown(description=trans.__("y axis"), options=[])
        self.sx, self.sy = bq.LinearScale(), bq.LinearScale()
        scales = {"x": self.sx, "y": self.sy}
        self.points = bq.Scatter(
            x=[],
            y=[],
            scales=scales,
            colors=[POINT_COLOR],
            default_size=40,
            labels=[trans.__("runs shown")],
            display_legend=True,
        )
        self.points_selected = bq.Scatter(
            x=[],
            y=[],
            scales=scales,
            colors=[SELECTED_COLOR],
            default_size=60,
            labels=[trans.__("selected")],
            display_legend=True,
        )
        self.scatter_axes = [
            bq.Axis(scale=self.sx, label=""),
            bq.Axis(scale=self.sy, orientation="vertical", label=""),
        ]
        self.scatter = bq.Figure(
            marks=[self.points, self.points_selected],
            axes=self.scatter_axes,
            layout=w.Layout(width="100%", height="320px"),
            animation_duration=0,
        )
        self.scatter_note = w.HTML()
        self.overlay_note = w.HTML()
        self.overlay = MetricsPanel([], self.client, live=False)
        self._wire()

        def section(text: str) -> w.HTML:
            return w.HTML(f"<b>{html.escape(text)}</b>")

        self.reload()
        self.compose(
            w.HBox([self.query, self.apply_button]),
            self.query_error,
            w.HBox([self.sort, self.order, self.previous, self.page_label, self.next]),
            section(trans.__("Runs")),
            self.table,
            w.HBox([self.select, w.VBox([self.selected_label, self.clear_button, self.only_differs])]),
            self.selected_view,
            section(trans.__("Parameters and metrics")),
            w.HBox([self.axes_picker, self.color]),
            self.pc_figure,
            section(trans.__("Scatter")),
            w.HBox([self.scatter_x, self.scatter_y]),
            self.scatter_note,
            self.scatter,
            section(trans.__("Metrics of the selected runs")),
            self.overlay_note,
            self.overlay,
        )

    def _wire(self) -> None:
        """What each control does; a change made by the panel itself (``quiet``) reads nothing again."""
        self.query.observe(lambda _c: self._unless_quiet(self.apply), names="value")
        self.apply_button.on_click(lambda _b: self.apply())
        for control in (self.sort, self.order):
            control.observe(lambda _c: self._unless_quiet(self.resort), names="value")
        self.previous.on_click(lambda _b: self.turn(-1))
        self.next.on_click(lambda _b: self.turn(1))
        self.select.observe(lambda _c: self._unless_quiet(self.choose), names="value")
        self.clear_button.on_click(lambda _b: self.clear_selection())
        self.only_differs.observe(lambda _c: self.draw_tables(), names="value")
        self.axes_picker.observe(lambda _c: self._unless_quiet(self.draw_parallel), names="value")
        self.color.observe(lambda _c: self._unless_quiet(self.recolor), names="value")
        for control in (self.scatter_x, self.scatter_y):
            control.observe(lambda _c: self._unless_quiet(self.draw_scatter), names="value")

    # ---- live: task events (which runs match may change) and the progress of the runs shown
    def wants(self, event: dict[str, Any]) -> bool:
        kind = event.get("type", "")
        if kind in ("task", "task.deleted"):
            return True
        task_id = (event.get("task") or {}).get("id")
        shown = [*self.rows, *self.selection.values()]
        return kind == "task.progress" and any(r["task_id"] == task_id for r in shown)

    # ---- reading
    @property
    def rows(self) -> list[Row]:
        return self.reply["runs"]

    def refresh(self) -> None:
        reply = self.client.runs(
            self.where, self.columns, self.sort.value, self.order.value, self.page_size, self.offset
        )
        if not reply["runs"] and self.offset and reply["total"]:  # fewer runs than before: the last page
            self.offset = (reply["total"] - 1) // self.page_size * self.page_size
            reply = self.client.runs(
                self.where, self.columns, self.sort.value, self.order.value, self.page_size, self.offset
            )
        self.show(reply)

    def reload(self) -> bool:
        """Read the page now (waiting for a live refresh under way); a refused query is shown under the
        box and leaves the page as it was. Returns whether the server answered."""
        with self._refresh_lock:
            try:
                self.refresh()
            except UnprocessableEntityError as exc:
                reason = self.trans.__("Cannot read the runs: %1 (%2)", refusal(self.trans, 422), exc.message)
                self.query_error.value = (
                    f"<span class='trio-error' style='color:#c62828'>{html.escape(reason)}</span>"
                )
                return False
            except TrioClientError as exc:  # the server's word, or no server: shown, not raised into the log
                self.show_error(exc)
                return False
        self.query_error.value = ""
        self.show_error(None)
        return True

    def apply(self, where: str | None = None) -> bool:
        """Show the runs ``where`` (default: the query box's) selects, from the first page."""
        kept = self.where, self.offset
        self.where, self.offset = (self.query.value if where is None else where).strip(), 0
        if where is not None:
            with self.quiet():
                self.query.value = where
        if self.reload():
            return True
        self.where, self.offset = kept  # live updates keep reading the last query the server took
        return False

    def resort(self) -> None:
        self.offset = 0
        self.reload()

    def turn(self, pages: int) -> None:
        self.offset = max(0, self.offset + pages * self.page_size)
        self.reload()

    # ---- selection
    def choose(self) -> None:
        """The multi-select changed: the page's runs in it are selected, the page's others not."""
        chosen = set(self.select.value)
        for row in self.rows:
            key = run_key(row)
            if key in chosen:
                self.selection[key] = row
            else:
                self.selection.pop(key, None)
        self.draw_selection()

    def select_runs(self, *keys: str) -> None:
        """Select runs by key (``"<task_id>#<run>"``) or task name (its runs on the page), add to the rest."""
        for row in self.rows:
            if run_key(row) in keys or row["task"] in keys:
                self.selection[run_key(row)] = row
        with self.quiet():
            self.select.value = tuple(k for _, k in self.select.options if k in self.selection)
        self.draw_selection()

    def clear_selection(self) -> None:
        self.selection.clear()
        with self.quiet():
            self.select.value = ()
        self.draw_selection()

    def compared_rows(self, page: list[Row]) -> list[Row]:
        """The selected runs, or the page's when none is selected."""
        return list(self.selection.values()) or page

    # ---- drawing
    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Set controls without their observers reading the server again."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def _unless_quiet(self, fn: Any) -> None:
        if not self._quiet:
            fn()

    def show(self, reply: dict[str, Any]) -> None:
        self.reply = reply
        columns = reply["columns"]
        self.known.update({c["name"]: c for c in columns})
        for row in self.rows:  # selected runs of this page: their newest values
            if run_key(row) in self.selection:
                self.selection[run_key(row)] = row
        trans = self.trans
        names = list(dict.fromkeys(["task", "run", *(c["name"] for c in columns)]))
        numeric = numeric_columns(columns)
        params = columns_of(columns, "param")
        color = self.color.value if self._color_chosen else self.color.value or default_color(columns) or ""
        axes = [a for a in self.axes_picker.value if a in names] or default_axes(
            columns, self.rows, color or None
        )
        differ = differing(self.rows, params)
        x = self.scatter_x.value if self.scatter_x.value in numeric else None
        x = (
            x
            or next((n for n in numeric if n in differ), None)
            or next((n for n in numeric if n in params), None)
        )
        x = x or (numeric[0] if numeric else None)
        y = self.scatter_y.value if self.scatter_y.value in numeric else None
        y = (
            y
            or (color if color in numeric and color != x else None)
            or next((n for n in numeric if n != x), x)
        )
        sort = self.sort.value
        refs = [column_ref(n) for n in names]
        with self.quiet():
            none = (trans.__("(none)"), "")
            self.sort.options = [none, *zip(names, refs, strict=True)] + (
                [(sort, sort)] if sort and sort not in refs else []
            )
            self.sort.value = sort
            self.select.options = [
                (trans.__("%1 run %2", r["task"], r["run"]), run_key(r)) for r in self.rows
            ]
            self.select.value = tuple(run_key(r) for r in self.rows if run_key(r) in self.selection)
            self.axes_picker.options = names
            self.axes_picker.value = tuple(a for a in axes if a in names)
            self.color.options = [none, *((n, n) for n in numeric)]
            self.color.value = color if color in numeric else ""
            self.scatter_x.options, self.scatter_x.value = numeric, x
            self.scatter_y.options, self.scatter_y.value = numeric, y
        total = reply["total"]
        self.page_label.value = html.escape(
            trans.__("runs %1–%2 of %3", self.offset + 1, self.offset + len(self.rows), total)
            if self.rows
            else trans.__("no run matches the query")
        )
        self.previous.disabled = self.offset == 0
        self.next.disabled = self.offset + len(self.rows) >= total
        self.draw_parallel()
        self.draw_selection()

    def recolor(self) -> None:
        self._color_chosen = True
        self.draw_parallel()

    def cell(self, name: str, value: Any) -> str:
        if value is None:
            return ""
        if name == "status":
            return task_state(self.trans, str(value))
        if name == "kind":
            return task_kind(self.trans, str(value))
        if name == "duration" and isinstance(value, (int, float)):
            return hms(value)
        return number(value)

    def table_html(self, rows: list[Row], names: list[str], css: str) -> str:
        sort = self.sort.value
        arrow = " ▲" if self.order.value == "asc" else " ▼"
        head = "".join(
            "<th style='text-align:left;padding:2px 8px'>"
            f"{html.escape(n + (arrow if column_ref(n) == sort else ''))}</th>"
            for n in names
        )
        body = "".join(
            (
                "<tr class='trio-selected' style='background:#e3f2fd'>"
                if run_key(r) in self.selection and css.endswith("page")
                else "<tr>"
            )
            + "".join(
                f"<td style='padding:2px 8px'>{html.escape(self.cell(n, r.get(n)))}</td>" for n in names
            )
            + "</tr>"
            for r in rows
        )
        return f"<table class='trio-table {css}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def draw_tables(self) -> None:
        """The page's table and the selected runs' table, only the differing parameters if asked."""
        compared = self.compared_rows(self.rows)
        params = [n for n, c in self.known.items() if c["kind"] == "param"]
        self.differing = differing(compared, params)
        columns = self.reply["columns"]
        picked = [c["name"] for c in columns] if self.columns else default_columns(columns)
        hide = self.only_differs.value
        self.shown_columns = [n for n in picked if not (hide and n in params and n not in self.differing)]
        self.table.value = self.table_html(self.rows, self.shown_columns, "trio-compare-page")
        selected = list(self.selection.values())
        if not selected:
            self.selected_view.value = ""
            return
        known = list(self.known.values())
        names = [n for n in default_columns(known) if not (hide and n in params and n not in self.differing)]
        self.selected_view.value = self.table_html(selected, names, "trio-compare-selected")

    def draw_selection(self) -> None:
        n = len(self.selection)
        self.selected_label.value = html.escape(self.trans._n("%1 selected", "%1 selected", n))
        self.draw_tables()
        keys = set(self.selection)
        with self.pc_figure.hold_sync():
            self.pc_lines.opacities = [1.0 if not keys or run_key(r) in keys else 0.25 for r in self.rows]
        self.draw_scatter()
        self.draw_overlay()

    def draw_parallel(self) -> None:
        """One line per row over the chosen axes, coloured by the chosen column (grey where it has none)."""
        rows, keys = self.rows, list(self.axes_picker.value)
        old = list(self.pc_figure.axes)
        self.pc_axes = [build_axis(k, [r.get(k) for r in rows]) for k in keys]
        figure_axes = [
            bq.Axis(
                scale=self.pc_x,
                tick_values=list(range(len(keys))),
                tick_labels={str(i): k for i, k in enumerate(keys)},
                grid_lines="none",
            )
        ]
        for i, axis in enumerate(self.pc_axes):
            ticks: dict[str, Any] = {}
            if axis.kind == "categorical":
                ticks = {
                    "tick_values": list(range(len(axis.categories))),
                    "tick_labels": {str(j): c for j, c in enumerate(axis.categories)},
                }
            figure_axes.append(
                bq.Axis(
                    scale=axis_scale(axis),
                    orientation="vertical",
                    side="left",
                    offset={"scale": self.pc_x, "value": i},
                    grid_lines="none",
                    **ticks,
                )
            )
        key = self.color.value
        values = [as_number(r.get(key)) if key else None for r in rows]
        present = [v for v in values if v is not None]
        lo, hi = (min(present), max(present)) if present else (0.0, 1.0)
        colors = [
            MISSING_COLOR if v is None else blend(0.5 if hi == lo else (v - lo) / (hi - lo)) for v in values
        ]
        if present:
            self.pc_color.min, self.pc_color.max = lo, hi
            figure_axes.append(
                bq.ColorAxis(scale=self.pc_color, orientation="vertical", side="right", label=key)
            )
        selected = set(self.selection)
        with self.pc_figure.hold_sync():
            self.pc_x.min, self.pc_x.max = -0.5, max(0.5, len(keys) - 0.5)
            self.pc_lines.x = list(range(len(keys))) if rows and keys else []
            self.pc_lines.y = (
                [[position(a, r.get(a.key)) for a in self.pc_axes] for r in rows] if keys else []
            )
            self.pc_lines.colors = colors or [POINT_COLOR]
            self.pc_lines.opacities = [1.0 if not selected or run_key(r) in selected else 0.25 for r in rows]
            self.pc_figure.axes = figure_axes
        for axis in old:  # their widgets (and scales of their own) are not shown any more
            if axis.scale is not self.pc_x and axis.scale is not self.pc_color:
                axis.scale.close()
            axis.close()

    def draw_scatter(self) -> None:
        x, y = self.scatter_x.value, self.scatter_y.value
        points = (
            [(as_number(r.get(x)), as_number(r.get(y)), run_key(r)) for r in self.rows] if x and y else []
        )
        points = [(px, py, k) for px, py, k in points if px is not None and py is not None]
        chosen = [(px, py) for px, py, k in points if k in self.selection]
        self.scatter_note.value = "" if x and y else html.escape(self.trans.__("No numeric column to plot."))
        with self.scatter.hold_sync():
            self.scatter_axes[0].label, self.scatter_axes[1].label = x or "", y or ""
            self.points.x, self.points.y = [p[0] for p in points], [p[1] for p in points]
            self.points_selected.x, self.points_selected.y = [p[0] for p in chosen], [p[1] for p in chosen]

    def draw_overlay(self) -> None:
        """The compared runs' tracked series on the metrics panel's chart, read again when they changed."""
        compared = self.compared_rows(self.rows)
        shown = compared[:MAX_OVERLAY]
        trans = self.trans
        if len(compared) > len(shown):
            note = trans.__("the first %1 of %2 runs", len(shown), len(compared))
        else:
            note = "" if self.selection else trans.__("select runs in the table to choose which")
        self.overlay_note.value = html.escape(note)
        signature = json.dumps(shown, sort_keys=True, default=str)
        if signature == self._overlay_for:
            return
        self._overlay_for = signature
        self.overlay.runs = [(str(r["task"]), int(r["run"])) for r in shown]
        self.overlay.data.clear()
        self.overlay.records.clear()
        self.overlay.safe_refresh()

"""The run table: every run of the workspace as one row of attributes, parameters and series aggregates,
filtered and sorted in SQL (runs in: server).

A query's columns resolve here (``RunTableRepository.resolve``): a run attribute (``ATTRIBUTES``), a series'
aggregate when the name is ``<series>.<agg>`` of a series some run tracked (``run_series``, kept by
``run_series.py``), ``<series>.at(k)`` (read from the run's points on demand), and otherwise a parameter:
the dotted path into the task's training parameters, or its config for script tasks. Every value reaches
SQLite as a bound parameter; names become quoted JSON paths or bound series names, never SQL text.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..domain import BoolOp, ColumnRef, Comparison, Expr, Not, RunTableQuery, series_direction
from ..errors import ValidationFailed
from .db import Database
from .metrics import MetricsReader
from .paths import WorkspaceLayout
from .run_series import RunSeriesRepository

# a run's attributes: the column name, its SQL over ``runs r JOIN tasks t``, its type
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "task": ("t.name", "string"),
    "task_id": ("t.id", "string"),
    "run": ("r.run_index", "number"),
    "status": ("r.status", "string"),
    "kind": ("t.kind", "string"),
    "owner": ("t.owner", "string"),
    "sweep": (
        "(SELECT s.name FROM sweep_trials st JOIN sweeps s ON s.id = st.sweep_id WHERE st.task_id = t.id"
        " LIMIT 1)",
        "string",
    ),
    "project": ("t.project_id", "string"),
    "duration": ("(COALESCE(r.ended_at, {now}) - r.started_at)", "number"),
    "queued_at": ("r.queued_at", "number"),
    "started_at": ("r.started_at", "number"),
    "ended_at": ("r.ended_at", "number"),
    "exit_code": ("r.exit_code", "number"),
    "pid": ("r.pid", "number"),
    "gpus": ("t.gpus", "number"),
    "priority": ("t.priority", "number"),
    "pinned": ("t.pinned", "bool"),
    "notes": ("t.notes", "string"),
}
AGGREGATES = ("last", "min", "max", "best", "count", "last_step")
SHOWN_AGGREGATES = ("last", "min", "max", "best")  # a series' columns when none are named
SYSTEM_PREFIX = "sys/"  # the supervisor's series (runner/sysmetrics.py): not among the default columns
PARAMS_SQL = "(CASE WHEN t.params NOT IN ('', '{}') THEN t.params ELSE t.config END)"
FROM = "FROM runs r JOIN tasks t ON t.id = r.task_id"

JSONValue = float | int | str | bool | None


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    name: str
    kind: str  # attribute | param | metric
    type: str  # number | string | bool


@dataclass(frozen=True, slots=True)
class RunTablePage:
    rows: list[dict[str, JSONValue]]
    total: int
    columns: list[ColumnInfo]


@dataclass(frozen=True, slots=True)
class _Resolved:
    kind: str  # attribute | param | metric | at
    sql: str
    params: tuple[Any, ...] = ()
    series: str = ""
    agg: str = ""


class RunTableRepository:
    def __init__(self, db: Database, layout: WorkspaceLayout, series: RunSeriesRepository):
        self.db = db
        self.layout = layout
        self.series = series
        self.reader = MetricsReader(max_runs=256)  # points for at(k)

    # ---- resolving names
    def resolve(self, column: ColumnRef, known_series: set[str]) -> _Resolved:
        name = ".".join(column.parts)
        if column.at is not None:
            return _Resolved("at", "trio_at(r.task_id, r.run_index, ?, ?)", (name, column.at), series=name)
        if len(column.parts) == 1 and name in ATTRIBUTES:
            sql = ATTRIBUTES[name][0].replace("{now}", repr(time.time()))
            return _Resolved("attribute", sql)
        if len(column.parts) >= 2 and column.parts[-1] in AGGREGATES:
            series = ".".join(column.parts[:-1])
            if series in known_series:
                agg = column.parts[-1]
                if agg == "best":
                    agg = "min" if series_direction(series) == "minimize" else "max"
                sql = (
                    f"(SELECT m.{agg} FROM run_series m WHERE m.task_id = r.task_id"
                    " AND m.run_index = r.run_index AND m.series = ?)"
                )
                return _Resolved("metric", sql, (series,), series=series, agg=column.parts[-1])
        if any('"' in part for part in column.parts):
            raise ValidationFailed(f"column {name!r}: a name may not hold a double quote")
        path = "$" + "".join(f'."{part}"' for part in column.parts)
        return _Resolved("param", f"json_extract({PARAMS_SQL}, ?)", (path,))

    # ---- the query
    def _where(self, expr: Expr, known: set[str]) -> tuple[str, list[Any]]:
        if isinstance(expr, BoolOp):
            parts = [self._where(item, known) for item in expr.items]
            joined = f" {expr.op.upper()} ".join(f"({sql})" for sql, _ in parts)
            return joined, [p for _, params in parts for p in params]
        if isinstance(expr, Not):
            sql, params = self._where(expr.item, known)
            return f"NOT COALESCE(({sql}), 0)", params
        return self._comparison(expr, known)

    def _comparison(self, cmp: Comparison, known: set[str]) -> tuple[str, list[Any]]:
        col = self.resolve(cmp.column, known)
        e, params = col.sql, list(col.params)
        value = cmp.value
        if cmp.op == "in":
            values = [_bind(v) for v in value]  # type: ignore[union-attr]
            return f"{e} IN ({', '.join('?' * len(values))})", params + values
        if value is None:
            return (f"{e} IS NULL" if cmp.op == "=" else f"{e} IS NOT NULL"), params
        if cmp.op in ("~", "!~"):
            found = f"instr(lower(CAST({e} AS TEXT)), lower(?)) > 0"
            sql = found if cmp.op == "~" else f"{e} IS NOT NULL AND NOT ({found})"
            return sql, params + params + [value] if cmp.op == "!~" else params + [value]
        if (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and cmp.op in ("<", "<=", ">", ">=")
        ):
            return _numeric(e, params, cmp.op, float(value))
        return f"{e} {cmp.op} ?", params + [_bind(value)]

    def page(self, query: RunTableQuery) -> RunTablePage:
        """One pass of ``where`` over the runs yields the page's keys in order and the total (a window
        count); the page's rows are then read by key, so sorting never carries their wide columns."""
        known = set(self.series.series_names())
        conn = self.db.connection()
        conn.create_function("trio_at", 4, self._at)
        where_sql, where_params = ("1", []) if query.where is None else self._where(query.where, known)
        order_sql, order_params = "r.queued_at", []
        if query.sort is not None:
            sort = self.resolve(query.sort, known)
            order_sql, order_params = sort.sql, list(sort.params)
        direction = "DESC" if query.descending else "ASC"
        keys = conn.execute(
            f"SELECT r.task_id, r.run_index, COUNT(*) OVER () AS total {FROM} WHERE {where_sql}"
            f" ORDER BY {order_sql} {direction} NULLS LAST, r.queued_at {direction}, r.task_id, r.run_index"
            " LIMIT ? OFFSET ?",
            [*where_params, *order_params, query.limit, query.offset],
        ).fetchall()
        if keys:
            total = keys[0]["total"]
        else:  # an offset past the end: the count on its own
            total = conn.execute(f"SELECT COUNT(*) {FROM} WHERE {where_sql}", where_params).fetchone()[0]
        rows = self._rows(conn, [(k["task_id"], k["run_index"]) for k in keys])
        return self._build(rows, total, query.columns, known)

    def _rows(self, conn: Any, keys: list[tuple[str, int]]) -> list[Any]:
        """The runs of ``keys``, with their parameters and attributes, in the order of ``keys``."""
        found: dict[tuple[str, int], Any] = {}
        attributes = ", ".join(f"{sql} AS {name!r}" for name, (sql, _) in _attribute_sql().items())
        for start in range(0, len(keys), 400):  # SQLite's bound-parameter limit
            chunk = keys[start : start + 400]
            marks = ", ".join("(?, ?)" for _ in chunk)
            for row in conn.execute(
                f"SELECT r.task_id, r.run_index, {PARAMS_SQL} AS p, {attributes} {FROM}"
                f" WHERE (r.task_id, r.run_index) IN (VALUES {marks})",
                [v for key in chunk for v in key],
            ):
                found[(row["task_id"], row["run_index"])] = row
        return [found[key] for key in keys if key in found]

    def all_rows(self, where: Expr | None, columns: tuple[ColumnRef, ...] | None) -> RunTablePage:
        """Every matching run (CSV export), newest first."""
        return self.page(RunTableQuery(where=where, columns=columns, limit=-1))

    # ---- rows
    def _build(
        self, rows: list, total: int, columns: tuple[ColumnRef, ...] | None, known: set[str]
    ) -> RunTablePage:
        keys = [(r["task_id"], r["run_index"]) for r in rows]
        summaries = self.series.summaries(keys)
        out: list[dict[str, JSONValue]] = []
        param_names: dict[str, None] = {}
        metric_names: dict[str, None] = {}
        full_rows = []
        for r in rows:
            key = (r["task_id"], r["run_index"])
            row: dict[str, JSONValue] = {name: r[name] for name in ATTRIBUTES}
            row["pinned"] = bool(row["pinned"])
            params = _flatten(_loads(r["p"]))
            for name in params:
                param_names.setdefault(name)
            metrics: dict[str, JSONValue] = {}
            for summary in summaries[key]:
                for agg in AGGREGATES:
                    value = summary.best if agg == "best" else getattr(summary, agg)
                    metrics[f"{summary.series}.{agg}"] = _finite(value)
                if not summary.series.startswith(SYSTEM_PREFIX):  # asked for by name only
                    for agg in SHOWN_AGGREGATES:
                        metric_names.setdefault(f"{summary.series}.{agg}")
            full_rows.append((key, row, params, metrics))
        if columns is None:
            names = [(n, "attribute") for n in ATTRIBUTES]
            names += [(n, "param") for n in param_names]
            order = {agg: i for i, agg in enumerate(SHOWN_AGGREGATES)}
            names += [
                (n, "metric")
                for n in sorted(metric_names, key=lambda n: (n.rsplit(".", 1)[0], order[n.rsplit(".", 1)[1]]))
            ]
        else:
            names = [(c.name, self.resolve(c, known).kind) for c in columns]
        for key, row, params, metrics in full_rows:
            shown: dict[str, JSONValue] = {"task": row["task"], "task_id": row["task_id"], "run": row["run"]}
            for (name, kind), column in zip(names, columns or [None] * len(names)):
                if kind == "attribute":
                    shown[name] = row[name]
                elif kind == "param":
                    shown[name] = params.get(name)
                elif kind == "metric":
                    shown[name] = metrics.get(name)
                else:  # at(k)
                    assert column is not None and column.at is not None
                    shown[name] = _finite(self._at(key[0], key[1], ".".join(column.parts), column.at))
            out.append(shown)
        infos = [
            ColumnInfo(name, "metric" if kind == "at" else kind, _type(out, name)) for name, kind in names
        ]
        return RunTablePage(out, total, infos)

    def _at(self, task_id: str, run_index: int, series: str, step: int) -> float | None:
        """The series' value at the last point whose step is <= ``step`` (SQL's ``trio_at``)."""
        run_dir = self.layout.run_dir(task_id, run_index)
        if not run_dir.is_dir():
            return None
        points = self.reader.series(run_dir, series, to_step=step)
        return points.values[-1] if points is not None and points.values else None

    def stream_csv(self, page: RunTablePage) -> Iterator[str]:
        """The page as CSV text, a line at a time (header first)."""
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        names = ["task", "task_id", "run"] + [
            c.name for c in page.columns if c.name not in ("task", "task_id", "run")
        ]
        writer.writerow(names)
        yield buffer.getvalue()
        for row in page.rows:
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([spreadsheet_safe(row.get(n)) for n in names])
            yield buffer.getvalue()


def spreadsheet_safe(value: JSONValue) -> JSONValue:
    """A CSV cell: nothing for null, and a text a spreadsheet would run as a formula (``=``, ``+``, ``-``,
    ``@``, a tab or a line break first) quoted with ``'``, as pyruns's export does."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r", "\n")):
        return "'" + value
    return value


def _numeric(e: str, params: list[Any], op: str, value: float) -> tuple[str, list[Any]]:
    """``e op value`` true for numbers only, with ``e`` evaluated once (a parameter's JSON is parsed per
    evaluation). SQLite orders NULL < numbers < text < blobs, so text is never below a number (``<``, ``<=``
    need no guard), and the numbers at or above ``value`` are exactly ``e BETWEEN value AND +inf`` (text is
    above +inf); a strict ``>`` starts at the next float up."""
    if op in ("<", "<="):
        return f"{e} {op} ?", params + [value]
    low = math.nextafter(value, math.inf) if op == ">" else value
    return f"{e} BETWEEN ? AND 9e999", params + [low]


def _attribute_sql() -> dict[str, tuple[str, str]]:
    now = repr(time.time())
    return {name: (sql.replace("{now}", now), kind) for name, (sql, kind) in ATTRIBUTES.items()}


def _bind(value: JSONValue) -> JSONValue:
    return int(value) if isinstance(value, bool) else value


def _loads(text: str | None) -> dict:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _flatten(data: dict, prefix: str = "") -> dict[str, JSONValue]:
    flat: dict[str, JSONValue] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, (list, dict)):
            flat[name] = json.dumps(value)
        elif isinstance(value, float):
            flat[name] = _finite(value)
        else:
            flat[name] = value
    return flat


def _finite(value: float | int | None) -> float | int | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _type(rows: list[dict[str, JSONValue]], name: str) -> str:
    values = [row.get(name) for row in rows if row.get(name) is not None]
    if values and all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "number"
    return "string"

"""The compare panel's arithmetic (runs in: kernel), the sidebar compare view's (labextension/src/compare.ts,
parallelcoords.ts) in Python: default columns, axes and colour, "only what differs", a value's place on an
axis, the colour scale. No widgets here: ``compare.py`` draws with it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import bqplot as bq

Row = dict[str, Any]
DEFAULT_ATTRIBUTES = ("task", "run", "status", "duration")
MAX_DEFAULT_AXES = 12
MAX_OVERLAY = 12  # more lines than this on one chart are unreadable
LOG_SPAN = 100.0  # max / min above this (all positive): a log axis
PAD = 0.05  # room above and below the axes' ends, as a fraction of their length
VIRIDIS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
MISSING_COLOR, POINT_COLOR, SELECTED_COLOR = "#bbbbbb", "#1f77b4", "#d62728"
KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false"}  # the query language's
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_AT = re.compile(r"at\(-?\d+\)\Z")


def run_key(row: Row) -> str:
    return f"{row['task_id']}#{row['run']}"


def identity(value: Any) -> str:
    """A value's identity for "differs": missing is null, numbers by value (1 = 1.0), the rest by JSON."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    return json.dumps(value, sort_keys=True)


def differing(rows: list[Row], names: list[str]) -> list[str]:
    """The ``names`` whose values are not all the same among ``rows`` (none for fewer than two rows)."""
    if len(rows) < 2:
        return []
    return [n for n in names if len({identity(r.get(n)) for r in rows}) > 1]


def columns_of(columns: list[dict[str, Any]], kind: str) -> list[str]:
    return [c["name"] for c in columns if c["kind"] == kind]


def default_columns(columns: list[dict[str, Any]]) -> list[str]:
    """The main attributes, every parameter, and each series' ``last`` (or, without one, its first)."""
    names = {c["name"] for c in columns}
    out = [n for n in DEFAULT_ATTRIBUTES if n in names]
    out += columns_of(columns, "param")
    seen: dict[str, str] = {}
    for name in columns_of(columns, "metric"):
        series = name.rsplit(".", 1)[0]
        if series not in seen or (name.endswith(".last") and not seen[series].endswith(".last")):
            seen[series] = name
    return out + list(seen.values())


def numeric_columns(columns: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in columns if c["type"] == "number"]


def default_color(columns: list[dict[str, Any]]) -> str | None:
    """A metric's ``best``, else its ``last``, else any numeric metric."""
    metrics = [c["name"] for c in columns if c["kind"] == "metric" and c["type"] == "number"]
    for suffix in (".best", ".last", ""):
        found = [n for n in metrics if n.endswith(suffix)]
        if found:
            return found[0]
    return None


def default_axes(columns: list[dict[str, Any]], rows: list[Row], color: str | None) -> list[str]:
    """The parameters that differ among the rows (else the first ones), then the colour column."""
    params = columns_of(columns, "param")
    axes = differing(rows, params)[:MAX_DEFAULT_AXES] or params[:MAX_DEFAULT_AXES]
    return axes + ([color] if color and color not in axes else [])


def as_number(value: Any) -> float | None:
    """A value for a chart: finite numbers, booleans as 0/1; None otherwise."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def column_ref(name: str) -> str:
    """A column's name as the query language writes it (``sort=``): odd parts in backticks."""
    parts = name.split(".")
    out = []
    for i, part in enumerate(parts):
        plain = _WORD.match(part) and part.lower() not in KEYWORDS
        out.append(part if plain or (i and i == len(parts) - 1 and _AT.match(part)) else f"`{part}`")
    return ".".join(out)


@dataclass
class Axis:
    """One axis of the parallel coordinates: numeric (linear or log over ``lo..hi``) or categorical."""

    key: str
    kind: str = "linear"  # linear | log | categorical
    lo: float = 0.0
    hi: float = 1.0
    categories: list[str] = field(default_factory=list)


def category(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def build_axis(key: str, values: list[Any]) -> Axis:
    """Numeric when every present value is a finite number (log when positive and wide), else categorical."""
    present = [v for v in values if v is not None]
    if not present:
        return Axis(key)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in present):
        lo, hi = float(min(present)), float(max(present))
        if lo > 0 and hi / lo > LOG_SPAN:
            return Axis(key, "log", math.log10(lo), math.log10(hi))
        return Axis(key, "linear", lo, hi)
    return Axis(key, "categorical", categories=sorted({category(v) for v in present}))


def position(axis: Axis, value: Any) -> float:
    """Where ``value`` lies on ``axis``: 0 at the bottom, 1 at the top, NaN where it cannot (a gap in the
    line). A categorical axis's n values sit at (i + 0.5) / n; a numeric axis of one value in the middle."""
    if value is None:
        return math.nan
    if axis.kind == "categorical":
        name = category(value)
        if name not in axis.categories:
            return math.nan
        return (axis.categories.index(name) + 0.5) / len(axis.categories)
    x = as_number(value)
    if x is None or isinstance(value, bool) or (axis.kind == "log" and x <= 0):
        return math.nan
    x = math.log10(x) if axis.kind == "log" else x
    return 0.5 if axis.hi == axis.lo else min(1.0, max(0.0, (x - axis.lo) / (axis.hi - axis.lo)))


def axis_scale(axis: Axis) -> bq.Scale:
    """The scale an axis's ticks are drawn on: its values placed where :func:`position` puts them."""
    if axis.kind == "categorical":
        n = max(1, len(axis.categories))
        return bq.LinearScale(min=-0.5 - PAD * n, max=n - 0.5 + PAD * n)
    span = axis.hi - axis.lo
    lo, hi = (
        (axis.lo - PAD * span, axis.hi + PAD * span) if span else (axis.lo - 0.5 - PAD, axis.lo + 0.5 + PAD)
    )
    if axis.kind == "log":
        return bq.LogScale(min=10**lo, max=10**hi)
    return bq.LinearScale(min=lo, max=hi)


def blend(t: float, stops: tuple[str, ...] = VIRIDIS) -> str:
    """The colour at ``t`` (0..1) of a scale through ``stops``."""
    t = min(1.0, max(0.0, t)) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    a, b = (tuple(int(s[k : k + 2], 16) for k in (1, 3, 5)) for s in stops[i : i + 2])
    return "#" + "".join(f"{round(x + (y - x) * (t - i)):02x}" for x, y in zip(a, b, strict=True))

"""Batch syntax of the generator: one config template → many task configs (pyruns's syntax).

In a template (nested dict), a string value may hold:

- ``a | b | c``               product: every value combines with every value of the other product keys;
- ``(a | b | c)``             zip: all zip keys advance together (they must have the same length);
- ``start:stop[:step]``       a range as Python's ``range``: the stop is excluded (``30:40:1`` → 30…39);
- ``(start, stop[, step])``   the same range written as a tuple (a product axis, as in pyruns);
- ``(start:stop[:step])``     a range that zips (our extension; pyruns has no zipped range).

Product and zip multiply: ``len = Π len(product lists) × len(zip lists)``. Values are read as YAML
scalars with YAML 1.2 numbers (``0.1`` → float, ``true`` → bool, ``null`` → None, ``1:30`` stays a
string; see :mod:`jupyter_trio.config_yaml`); ``\\|`` is a literal bar and empty parts are dropped.
A range whose step is 0 or that holds no value (``5:1``, ``12:30:00``) is not batch syntax and stays
the text it was, as in pyruns; so do ``http://x`` and ``12:30pm``. Integer ranges give ints; a range
with a decimal point gives floats (also our extension).

One request may expand to at most ``Limits.tasks`` configs and ``Limits.nodes`` values over all of them
(``c.TrioApp.max_generated_tasks`` / ``max_generated_nodes``): both are checked before anything is
copied, so a batch too large is a 422 and never a server out of memory.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from . import config_yaml
from .config_yaml import MAX_DEPTH
from .errors import ValidationFailed

MAX_TASKS = 100_000
MAX_NODES = 2_000_000
_INT = r"[-+]?\d[\d_]*"
_NUMBER = r"[-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*:\s*({_NUMBER})\s*(?::\s*({_NUMBER})\s*)?$")
_TUPLE = re.compile(rf"^\(\s*({_NUMBER})\s*,\s*({_NUMBER})\s*(?:,\s*({_NUMBER})\s*)?\)$")
_BAR = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Limits:
    """How much one generator request may expand to: configs, and values over all of them."""

    tasks: int = MAX_TASKS
    nodes: int = MAX_NODES


@dataclass(frozen=True)
class Axis:
    path: tuple[Any, ...]
    values: list[Any]
    zipped: bool


def scalar(text: str) -> Any:
    """A YAML scalar: '0.1' → 0.1, 'true' → True, 'adam' → 'adam', '1:30' → '1:30', '[1, 2]' → [1, 2]."""
    text = text.strip().replace("\\|", "|")
    if text == "":
        return ""
    try:
        return config_yaml.load(text)
    except Exception:  # not YAML on its own (e.g. 'a: b: c'): the text itself
        return text


def _range(groups: tuple[str | None, ...], where: str, max_tasks: int = MAX_TASKS) -> list[Any] | None:
    """The values of a range, or ``None`` when it is not one (step 0, or no value in it)."""
    texts = [g.replace("_", "") for g in groups if g]
    try:
        start, stop = Decimal(texts[0]), Decimal(texts[1])
        step = Decimal(texts[2]) if len(texts) > 2 else Decimal(1)
    except InvalidOperation:
        return None
    if step == 0 or (stop - start) * step <= 0:
        return None
    count = math.ceil((stop - start) / step)
    if count > max_tasks:
        raise ValidationFailed(f"{where}: range has {count} values; at most {max_tasks}")
    all_ints = all(re.fullmatch(_INT, t) for t in texts)
    values = [start + step * i for i in range(count)]
    return [int(v) if all_ints else float(v) for v in values]


def parse_value(text: str, where: str = "value", max_tasks: int = MAX_TASKS) -> tuple[list[Any], bool] | None:
    """``(values, zipped)`` when ``text`` holds batch syntax, else ``None``."""
    stripped = text.strip()
    tuple_match = _TUPLE.match(stripped)
    if tuple_match:
        values = _range(tuple_match.groups(), where, max_tasks)
        return (values, False) if values is not None else None
    zipped = len(stripped) >= 2 and stripped[0] == "(" and stripped[-1] == ")"
    body = stripped[1:-1] if zipped else stripped
    range_match = _RANGE.match(body)
    if range_match:
        values = _range(range_match.groups(), where, max_tasks)
        return (values, zipped) if values is not None else None
    parts = [p for p in _BAR.split(body) if p.strip()]
    if len(parts) > 1:
        return [scalar(p) for p in parts], zipped
    return None


def _walk(template: Any, path: tuple[Any, ...], axes: list[Axis], max_tasks: int = MAX_TASKS) -> None:
    if isinstance(template, dict):
        for key, value in template.items():
            _walk(value, path + (key,), axes, max_tasks)  # keys as they are: a YAML key 7 is not "7"
    elif isinstance(template, str):
        parsed = parse_value(template, ".".join(str(p) for p in path) or "value", max_tasks)
        if parsed is not None:
            axes.append(Axis(path, parsed[0], parsed[1]))


def nodes(template: Any, limit: int) -> int:
    """Values of ``template`` as a tree (mappings, lists and scalars; a shared object counts at every
    use), counted without recursion and only up to ``limit + 1``."""
    total, stack = 0, [template]
    while stack and total <= limit:
        item = stack.pop()
        total += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return total


def depth(template: Any, limit: int) -> int:
    """How deep mappings and lists nest in ``template``, measured without recursion and only up to
    ``limit + 1`` (the expansion itself recurses: a JSON body can nest far deeper than a YAML one)."""
    deepest, stack = 0, [(template, 1)]
    while stack and deepest <= limit:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _set(config: dict, path: tuple[Any, ...], value: Any) -> None:
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _deep_copy(template: Any) -> Any:
    if isinstance(template, dict):
        return {k: _deep_copy(v) for k, v in template.items()}
    if isinstance(template, list):
        return [_deep_copy(v) for v in template]
    return template


def _unescape(template: Any) -> Any:
    if isinstance(template, dict):
        return {k: _unescape(v) for k, v in template.items()}
    if isinstance(template, str) and "\\|" in template:
        return template.replace("\\|", "|")
    return template


def count(template: dict, limits: Limits = Limits()) -> int:
    axes: list[Axis] = []
    _walk(template, (), axes, limits.tasks)
    return _size(axes, limits.tasks)


def _size(axes: list[Axis], max_tasks: int = MAX_TASKS) -> int:
    zip_axes = [a for a in axes if a.zipped]
    if zip_axes:
        lengths = {".".join(str(p) for p in a.path): len(a.values) for a in zip_axes}
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{k} has {n}" for k, n in lengths.items())
            raise ValidationFailed(f"zip lists ( ... ) must have the same length: {detail}")
    total = math.prod(len(a.values) for a in axes if not a.zipped)
    if zip_axes:
        total *= len(zip_axes[0].values)
    if total > max_tasks:
        raise ValidationFailed(f"this batch makes {total} tasks; at most {max_tasks} at once")
    return total


def expand(template: dict, limits: Limits = Limits()) -> list[dict]:
    """Every config the template describes, in order: product axes vary slowest-first, zip last.

    Refused (422) before anything is copied when the batch would make more than ``limits.tasks`` configs
    or more than ``limits.nodes`` values over all of them.
    """
    if not isinstance(template, dict):
        raise ValidationFailed("the config template must be a mapping of keys to values")
    if depth(template, MAX_DEPTH) > MAX_DEPTH:
        raise ValidationFailed(
            f"the config template nests mappings and lists deeper than {MAX_DEPTH} levels",
            code="batch_too_large",
        )
    axes: list[Axis] = []
    _walk(template, (), axes, limits.tasks)
    total = _size(axes, limits.tasks)
    per_config = nodes(template, limits.nodes)
    if total * per_config > limits.nodes:
        shown = f"{per_config}" if per_config <= limits.nodes else f"more than {limits.nodes}"
        raise ValidationFailed(
            f"this batch makes {total} task(s) of {shown} values each; at most {limits.nodes} values "
            "in all at once",
            code="batch_too_large",
        )
    product_axes = [a for a in axes if not a.zipped]
    zip_axes = [a for a in axes if a.zipped]
    zip_rows = list(zip(*(a.values for a in zip_axes))) if zip_axes else [()]
    configs = []
    base = _unescape(template)
    for combo in itertools.product(*(a.values for a in product_axes)):
        for zrow in zip_rows:
            config = _deep_copy(base)
            for axis, value in zip(product_axes, combo):
                _set(config, axis.path, value)
            for axis, value in zip(zip_axes, zrow):
                _set(config, axis.path, value)
            configs.append(config)
    return configs

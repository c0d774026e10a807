"""Batch syntax of the generator: one config template → many task configs.

In a template (nested dict), a string value may hold:

- ``a | b | c``        product: every value combines with every value of the other product keys;
- ``(a | b | c)``      zip: all zip keys advance together (they must have the same length);
- ``start:stop:step``  inclusive numeric range (``start:stop`` has step 1); inside ``( )`` it zips.

Product and zip multiply: ``len = Π len(product lists) × len(zip lists)``. Values are read as YAML
scalars (``0.1`` → float, ``true`` → bool, ``null`` → None); ``\\|`` is a literal bar. Anything else
is left as it is, so a string such as ``http://x`` or ``12:30pm`` stays one value.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from .errors import ValidationFailed

MAX_TASKS = 100_000
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*:\s*({_NUMBER})\s*(?::\s*({_NUMBER})\s*)?$")
_BAR = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Axis:
    path: tuple[str, ...]
    values: list[Any]
    zipped: bool


def scalar(text: str) -> Any:
    """A YAML scalar: '0.1' → 0.1, 'true' → True, 'adam' → 'adam'."""
    text = text.strip().replace("\\|", "|")
    if text == "":
        return ""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if not isinstance(value, (dict, list)) else text


def _range(match: re.Match, where: str) -> list[Any]:
    try:
        start, stop = Decimal(match.group(1)), Decimal(match.group(2))
        step = Decimal(match.group(3)) if match.group(3) else Decimal(1)
    except InvalidOperation:
        raise ValidationFailed(f"{where}: bad range {match.group(0)!r}") from None
    if step == 0:
        raise ValidationFailed(f"{where}: range step must not be 0")
    if (stop - start) * step < 0:
        raise ValidationFailed(f"{where}: range {match.group(0).strip()!r} never reaches its end with step {step}")
    count = int((stop - start) / step) + 1
    if count > MAX_TASKS:
        raise ValidationFailed(f"{where}: range has {count} values; at most {MAX_TASKS}")
    all_ints = all("." not in g and "e" not in g.lower() for g in match.groups() if g)
    values = [start + step * i for i in range(count)]
    return [int(v) if all_ints else float(v) for v in values]


def parse_value(text: str, where: str = "value") -> tuple[list[Any], bool] | None:
    """``(values, zipped)`` when ``text`` holds batch syntax, else ``None``."""
    stripped = text.strip()
    zipped = len(stripped) >= 2 and stripped[0] == "(" and stripped[-1] == ")"
    body = stripped[1:-1] if zipped else stripped
    range_match = _RANGE.match(body)
    if range_match:
        return _range(range_match, where), zipped
    parts = _BAR.split(body)
    if len(parts) > 1:
        return [scalar(p) for p in parts], zipped
    return None


def _walk(template: Any, path: tuple[str, ...], axes: list[Axis]) -> None:
    if isinstance(template, dict):
        for key, value in template.items():
            _walk(value, path + (str(key),), axes)
    elif isinstance(template, str):
        parsed = parse_value(template, ".".join(path) or "value")
        if parsed is not None:
            axes.append(Axis(path, parsed[0], parsed[1]))


def _set(config: dict, path: tuple[str, ...], value: Any) -> None:
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


def count(template: dict) -> int:
    axes: list[Axis] = []
    _walk(template, (), axes)
    return _size(axes)


def _size(axes: list[Axis]) -> int:
    zip_axes = [a for a in axes if a.zipped]
    if zip_axes:
        lengths = {".".join(a.path): len(a.values) for a in zip_axes}
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{k} has {n}" for k, n in lengths.items())
            raise ValidationFailed(f"zip lists ( ... ) must have the same length: {detail}")
    total = math.prod(len(a.values) for a in axes if not a.zipped)
    if zip_axes:
        total *= len(zip_axes[0].values)
    if total > MAX_TASKS:
        raise ValidationFailed(f"this batch makes {total} tasks; at most {MAX_TASKS} at once")
    return total


def expand(template: dict) -> list[dict]:
    """Every config the template describes, in order: product axes vary slowest-first, zip last."""
    if not isinstance(template, dict):
        raise ValidationFailed("the config template must be a mapping of keys to values")
    axes: list[Axis] = []
    _walk(template, (), axes)
    _size(axes)
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

"""Rows → entities: one mapping for every repository, so a column reaches its field the same way
everywhere (the JSON columns parsed, the state columns as their enum)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import typing
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar

E = TypeVar("E")


@cache
def _fields(cls: type) -> tuple[tuple[str, type[StrEnum] | None], ...]:
    """The dataclass's field names, each with its enum type where the field holds one."""
    hints = typing.get_type_hints(cls)
    return tuple(
        (
            f.name,
            hints[f.name] if isinstance(hints[f.name], type) and issubclass(hints[f.name], StrEnum) else None,
        )
        for f in dataclasses.fields(cls)
    )


def entity(cls: type[E], row: sqlite3.Row, *, json_columns: tuple[str, ...] = (), **values: Any) -> E:
    """``cls`` built from ``row``: each field from the column of its name (a JSON column parsed, a state
    as its enum); ``values`` are given outright (columns named otherwise, derived fields). A field with
    neither keeps its default."""
    columns = row.keys()
    for name, enum in _fields(cls):
        if name in values or name not in columns:
            continue
        value = row[name]
        if name in json_columns:
            value = json.loads(value)
        elif enum is not None and value is not None:
            value = enum(value)
        values[name] = value
    return cls(**values)

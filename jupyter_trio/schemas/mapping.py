"""Entities → wire models: a model takes every field its entity has under the same name; what a dialect
names otherwise (or derives) is given outright, so each ``of()`` lists only its differences."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def from_entity(model: type[M], entity: object, **values: Any) -> M:
    """``model`` with the fields ``entity`` shares with it by name, and ``values`` given outright."""
    shared = {
        name: getattr(entity, name)
        for name in model.model_fields
        if name not in values and hasattr(entity, name)
    }
    return model(**shared, **values)

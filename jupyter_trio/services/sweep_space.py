"""A sweep's search space, written where the batch generator's template is (YAML or a mapping): a value
``uniform(0, 0.5)``, ``loguniform(1e-5, 1e-1)``, ``int(2, 8)`` (``int(2, 8, step=2)``), ``logint(1, 1024)``
or ``choice(adam | sgd)`` is searched; any other value is fixed. Nested keys are searched under dotted
names (``optimizer.lr``) and a trial's config has the template's shape with the sampled values in place.

Runs in the server; Optuna's distribution classes are imported when a space is parsed.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

from .. import config_yaml
from ..domain import JSONObject
from ..errors import ValidationFailed

FORMS = (
    "uniform(low, high), loguniform(low, high), int(low, high[, step]), logint(low, high) "
    "or choice(a | b | ...)"
)
_CALL = re.compile(r"^\s*(uniform|loguniform|int|logint|choice)\s*\((.*)\)\s*$", re.S)


@dataclass(frozen=True)
class Space:
    """The searched parameters (dotted name → Optuna distribution) and the template they go into."""

    distributions: dict[str, Any]
    template: JSONObject

    def config(self, params: dict[str, Any]) -> JSONObject:
        """The template with ``params`` (dotted names) in place: what a trial's script reads."""
        out = copy.deepcopy(self.template)
        for name, value in params.items():
            *parents, leaf = name.split(".")
            node = out
            for part in parents:
                node = node[part]
            node[leaf] = value
        return out

    def grid(self) -> dict[str, list[Any]]:
        """The grid sampler's search space: every searched value must be countable."""
        grid: dict[str, list[Any]] = {}
        for name, dist in self.distributions.items():
            choices = getattr(dist, "choices", None)
            if choices is not None:
                grid[name] = list(choices)
            elif type(dist).__name__ == "IntDistribution" and not dist.log:
                grid[name] = list(range(dist.low, dist.high + 1, dist.step))
            else:
                raise ValidationFailed(
                    f"space: {name}: the grid sampler needs choice(...) or int(low, high) values, "
                    "not a continuous range"
                )
        return grid


def parse_space(space: str | JSONObject, max_nodes: int = config_yaml.MAX_NODES) -> Space:
    """A space from YAML text or a mapping; 422 naming the key and the expected form on bad syntax."""
    if isinstance(space, str):
        try:
            data = config_yaml.load(space, max_nodes=max_nodes, what="space") if space.strip() else {}
        except config_yaml.YAMLTooLarge:
            raise
        except yaml.YAMLError as exc:
            raise ValidationFailed(f"space is not valid YAML: {exc}") from None
    else:
        data = space
    if not isinstance(data, dict):
        raise ValidationFailed("space must be a mapping of parameter names to values or distributions")
    distributions: dict[str, Any] = {}
    _walk(data, "", distributions)
    if not distributions:
        raise ValidationFailed(f"space: nothing to search; give at least one value as {FORMS}")
    return Space(distributions, copy.deepcopy(data))


def _walk(node: dict, prefix: str, out: dict[str, Any]) -> None:
    for key, value in node.items():
        if not isinstance(key, str) or not key or "." in key:
            raise ValidationFailed(f"space: {prefix}{key!r}: keys are non-empty names without '.'")
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _walk(value, name + ".", out)
        elif isinstance(value, str) and (match := _CALL.match(value)):
            out[name] = _distribution(name, match.group(1), match.group(2))
        elif isinstance(value, str) and re.match(r"^\s*(uniform|loguniform|int|logint|choice)\b", value):
            raise ValidationFailed(f"space: {name}: {value!r} is not a distribution; expected {FORMS}")


def _distribution(name: str, form: str, args: str) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    def bad(why: str) -> ValidationFailed:
        return ValidationFailed(f"space: {name}: {form}({args.strip()}): {why}; expected {FORMS}")

    if form == "choice":
        items = [part.strip() for part in args.split("|")]
        if not all(items):
            raise bad("empty choice")
        choices = []
        for item in items:
            value = yaml.safe_load(item)
            if not isinstance(value, (str, int, float, bool)) or value is None:
                raise bad(f"{item!r} is not a number, a boolean or a word")
            choices.append(value)
        if len(set(map(repr, choices))) != len(choices):
            raise bad("a choice appears twice")
        return CategoricalDistribution(choices)
    parts = [p.strip() for p in args.split(",") if p.strip()]
    step = None
    if parts and parts[-1].startswith("step="):
        step = parts.pop()[5:]
    if len(parts) != 2:
        raise bad("give a low and a high bound")
    try:
        if form in ("int", "logint"):
            low, high = int(parts[0]), int(parts[1])
            step_value = int(step) if step is not None else 1
        else:
            low, high = float(parts[0]), float(parts[1])
            step_value = float(step) if step is not None else None
    except ValueError:
        raise bad(
            "the bounds (and step) must be numbers" + (" (integers)" if "int" in form else "")
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise bad("low must be below high")
    if form.startswith("log") and low <= 0:
        raise bad("a log scale needs a low bound above 0")
    if step is not None and form.startswith("log"):
        raise bad("a log scale takes no step")
    try:
        if form in ("int", "logint"):
            return IntDistribution(low, high, log=form == "logint", step=step_value or 1)
        return FloatDistribution(low, high, log=form == "loguniform", step=step_value)
    except ValueError as exc:
        raise bad(str(exc)) from None


def describe(dist: Any) -> str:
    """A distribution written back in the space's syntax."""
    kind = type(dist).__name__
    if kind == "CategoricalDistribution":
        return "choice(" + " | ".join(str(c) for c in dist.choices) + ")"
    if kind == "IntDistribution":
        form = "logint" if dist.log else "int"
        return f"{form}({dist.low}, {dist.high}" + (f", step={dist.step})" if dist.step != 1 else ")")
    form = "loguniform" if dist.log else "uniform"
    return f"{form}({dist.low:g}, {dist.high:g}" + (f", step={dist.step:g})" if dist.step else ")")

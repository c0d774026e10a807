"""YAML as users write task configs: the text they typed reaches the batch syntax unchanged.

PyYAML follows YAML 1.1, which reads ``1:3`` as the base-60 integer 63, ``1:30`` as 90 and
``2026-09-25`` as a date. For a config that is wrong twice over: ``epoch: 1:3`` is batch syntax (a range)
that never reaches the generator, and a time such as ``1:30`` silently becomes a number. This loader is
PyYAML's safe loader with YAML 1.2's numbers: decimal, ``0b``/``0o``/``0x`` integers and plain floats,
no base-60 and no timestamps (those stay strings, as pyruns reads them). The generator, the script
workspaces and the job-side ``trio.read`` all load configs through it.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_INT = re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
    r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_DROPPED = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"}


class ConfigLoader(_BASE):  # type: ignore[misc, valid-type]
    """Safe loading with YAML 1.2 numbers: no sexagesimal integers or floats, no timestamps."""


ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in _BASE.yaml_implicit_resolvers.items()
}
ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    for prefix, base in (("0b", 2), ("0o", 8), ("0x", 16)):
        if body.startswith(prefix):
            return sign * int(body[2:], base)
    return sign * int(body)


ConfigLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load(text: str) -> Any:
    """One YAML document read as a config (an empty document is ``None``)."""
    return yaml.load(text, Loader=ConfigLoader)

"""YAML as users write task configs: the text they typed reaches the batch syntax unchanged.

PyYAML follows YAML 1.1, which reads ``1:3`` as the base-60 integer 63, ``1:30`` as 90 and
``2026-09-25`` as a date. For a config that is wrong twice over: ``epoch: 1:3`` is batch syntax (a range)
that never reaches the generator, and a time such as ``1:30`` silently becomes a number. This loader is
PyYAML's safe loader with YAML 1.2's numbers: decimal, ``0b``/``0o``/``0x`` integers and plain floats,
no base-60 and no timestamps (those stay strings, as pyruns reads them). The generator, the script
workspaces and the job-side ``trio.read`` all load configs through it.

Aliases are allowed (configs use anchors and ``<<`` merges), but a document is measured before it is
built: every node counts once per alias that reaches it, so a few hundred bytes of nested aliases (a
"billion laughs") are refused with :class:`YAMLTooLarge` instead of growing into a structure that the
generator, a JSON reply or a deep copy would walk node by node. Self-referencing aliases and very deep
nesting are refused the same way.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import YAMLTooLarge

MAX_NODES = 100_000  # nodes of one document, each alias's target counted at every use
MAX_DEPTH = 200  # mappings and lists inside one another (deeper would exhaust Python's stack later)
MAX_CHARS = 1 << 20  # characters of one document

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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expanded_size(root: yaml.Node, max_nodes: int = MAX_NODES, what: str = "the YAML document") -> int:
    """Nodes of the document as a tree (an alias's target counted at each use), computed on the graph in
    linear time; raises :class:`YAMLTooLarge` past ``max_nodes`` or ``MAX_DEPTH``, or on a cycle."""
    sizes: dict[int, int] = {}
    path: set[int] = set()  # nodes being measured: the current descent from the root
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            path.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > max_nodes:
                raise YAMLTooLarge(
                    f"{what}: refused: it holds more than {max_nodes} values once its aliases (*name) are "
                    "expanded (each use of an alias counts its whole target again)"
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in path:
            raise YAMLTooLarge(f"{what}: refused: an alias (*name) refers to a node that contains it")
        if len(path) >= MAX_DEPTH:
            raise YAMLTooLarge(f"{what}: refused: mappings and lists nest deeper than {MAX_DEPTH} levels")
        path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def load(
    text: str, *, max_nodes: int = MAX_NODES, max_chars: int = MAX_CHARS, what: str = "the YAML document"
) -> Any:
    """One YAML document read as a config (an empty document is ``None``).

    Refused with :class:`YAMLTooLarge` (a 422 in every dialect) when longer than ``max_chars`` or, once
    aliases are expanded, larger than ``max_nodes``; ``what`` names the document in the message.
    """
    if len(text) > max_chars:
        raise YAMLTooLarge(f"{what}: refused: it is longer than {max_chars} characters")
    loader = ConfigLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded_size(node, max_nodes, what)
        return loader.construct_document(node)
    finally:
        loader.dispose()

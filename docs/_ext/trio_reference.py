"""Reference pages generated from the code when the docs build: the configuration (every configurable
traitlet of ``TrioApp``, of the configurables it builds — ``TrioApp.classes`` from jupyter_trio: executors,
GPU sources — and of ``TrioGPUArbiter``, with its help and default; ``TrioApp``'s deprecated aliases in a
table of their own) and the REST API (every route of
the three dialects, from the OpenAPI document the server serves). Written into ``docs/_generated/`` at
``builder-inited``, before Sphinx reads the sources, so they can never drift from the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets import HasTraits, TraitType

GENERATED = Path(__file__).resolve().parent.parent / "_generated"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _default(cls: type[HasTraits], name: str, trait: TraitType) -> str:
    if f"_{name}_default" in dir(cls) or name in getattr(cls, "_trait_default_generators", {}):
        return "computed at start (see its help)"
    try:
        shown = trait.default_value_repr()
    except AssertionError:  # a Type trait whose default is None
        shown = "None"
    return f"`{shown}`" if shown not in ("traitlets.Undefined", "") else "—"


def configurables() -> list[type[HasTraits]]:
    """Every class with ``c.<Class>.*`` options: the server extension, the configurables it builds (its
    ``classes`` from jupyter_trio), and the GPU arbiter."""
    from jupyter_trio.app import TrioApp
    from jupyter_trio.hub.arbiter import TrioGPUArbiter

    built = [cls for cls in TrioApp.classes if cls.__module__.startswith("jupyter_trio")]
    return [TrioApp, *built, TrioGPUArbiter]


def _table(cls: type[HasTraits], traits: dict[str, TraitType]) -> list[str]:
    rows = ["| option | type | default | what it does |", "| --- | --- | --- | --- |"]
    for name, trait in traits.items():
        rows.append(
            f"| `c.{cls.__name__}.{name}` | {type(trait).__name__} | {_cell(_default(cls, name, trait))} "
            f"| {_cell(trait.help or '')} |"
        )
    return rows


def configuration_markdown() -> str:
    """Markdown tables of every configurable trait of the server extension, the executors and GPU sources
    it builds, and the GPU arbiter."""
    parts = []
    for cls in configurables():
        own = {
            name: trait
            for name, trait in sorted(cls.class_traits(config=True).items())
            if any(name in vars(base) for base in cls.__mro__ if base.__module__.startswith("jupyter_trio"))
        }
        moved = getattr(cls, "moved_traits", {})
        summary = (cls.__doc__ or "").strip().split("\n\n")[0]
        parts += [f"## `{cls.__name__}`", "", *([summary, ""] if summary else [])]
        parts += [*_table(cls, {n: t for n, t in own.items() if n not in moved}), ""]
        if moved:
            parts += [
                f"### Deprecated aliases of `{cls.__name__}`",
                "",
                "Options that moved to the class that uses them. Each still works: a value set here is "
                "copied to its new name, with a warning in the server's log, unless the new name is set too "
                "(then the new name wins).",
                "",
                "| old option | new option |",
                "| --- | --- |",
            ]
            for old, (owner, new) in sorted(moved.items()):
                parts.append(f"| `c.{cls.__name__}.{old}` | `c.{owner}.{new}` |")
            parts.append("")
    return "\n".join(parts)


def rest_markdown() -> str:
    """One table per tag of every operation in the served OpenAPI document."""
    from jupyter_trio.handlers import routes
    from jupyter_trio.handlers.openapi import build_openapi

    document = build_openapi([(pattern, handler) for pattern, handler, *_ in routes.ROUTES])
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in document["paths"].items():
        for method, op in item.items():
            by_tag.setdefault(op["tags"][0], []).append((method.upper(), path, op))
    parts = [
        "Every route sits under the Jupyter server's `base_url` and needs its authentication (the ingest",
        "routes take a run's token or claim instead). The same document is served live at",
        "`GET /trio/api/openapi.json` (OpenAPI 3.1).",
        "",
    ]
    for tag in sorted(by_tag):
        parts += [
            f"## {tag}",
            "",
            "| method | path | what it does | body | reply |",
            "| --- | --- | --- | --- | --- |",
        ]
        for method, path, op in sorted(by_tag[tag], key=lambda row: (row[1], row[0])):
            body = _schema_name(op.get("requestBody", {}).get("content", {}).get("application/json", {}))
            ok = next((r for code, r in op["responses"].items() if code.startswith("2")), {})
            reply = _schema_name(ok.get("content", {}).get("application/json", {}))
            parts.append(f"| {method} | `{path}` | {_cell(op['summary'])} | {body} | {reply} |")
        parts.append("")
    return "\n".join(parts)


def _schema_name(content: dict[str, Any]) -> str:
    ref = content.get("schema", {}).get("$ref", "")
    return f"`{ref.rsplit('/', 1)[-1]}`" if ref else ""


def write_pages(app: Any = None) -> None:
    GENERATED.mkdir(exist_ok=True)
    for name, text in (("configuration.md", configuration_markdown()), ("rest-api.md", rest_markdown())):
        target = GENERATED / name
        if not target.exists() or target.read_text() != text:  # unchanged pages keep Sphinx's cache
            target.write_text(text)


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", write_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

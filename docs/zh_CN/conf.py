"""Sphinx configuration of the Simplified-Chinese documentation (``docs/zh_CN``).

Reuses ``docs/conf.py`` (project metadata, MyST settings, theme) and overrides only what differs:
the language, the title, no generated reference pages (the references stay in English), and the static
folder, which is the English one. Built with warnings as errors:
``sphinx-build -W -b html docs/zh_CN docs/_build/html/zh_CN``."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
_EN_CONF = _HERE.parent / "conf.py"

# Run the English configuration in this namespace (it also puts docs/_ext on sys.path).
_en: dict = {"__file__": str(_EN_CONF), "__name__": "conf_en"}
exec(compile(_EN_CONF.read_text(encoding="utf-8"), str(_EN_CONF), "exec"), _en)
for _name, _value in _en.items():
    if not _name.startswith("_") and _name not in {"annotations", "sys", "Path", "HERE"}:
        globals()[_name] = _value

language = "zh_CN"
html_title = "jupyter-trio 中文文档"
# The configuration and REST API references are generated into docs/_generated for the English site only.
extensions = [ext for ext in extensions if ext != "trio_reference"]  # noqa: F821
exclude_patterns = ["_build"]
html_static_path = [str(_HERE.parent / "_static")]

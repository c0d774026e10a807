"""Sphinx configuration of the jupyter-trio documentation (MyST Markdown, pydata-sphinx-theme).

Built by ``./dev test`` with warnings as errors: ``sphinx-build -W -b html docs docs/_build/html``."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from jupyter_trio._version import __version__  # noqa: E402

project = "jupyter-trio"
author = "the jupyter-trio developers"
copyright = "2026, the jupyter-trio developers"
release = version = __version__

extensions = ["myst_parser", "trio_reference"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_generated", "zh_CN"]  # zh_CN: its own site (docs/zh_CN/conf.py)
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = "jupyter-trio"
html_static_path = ["_static"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "footer_start": ["copyright"],
}

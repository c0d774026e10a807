"""ARCHITECTURE.md matches the tree: every package and module of jupyter_trio is named in its map, and
every package or module the map names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "jupyter_trio"


def the_map() -> str:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    return text.split("## Where the code is", 1)[1].split("## ", 1)[0]


def test_every_package_and_module_is_on_the_map():
    text = the_map()
    packages = sorted(
        p.parent.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE
    )
    missing = [f"{p.split('/')[-1]}/" for p in packages if f"{p.split('/')[-1]}/" not in text]
    modules = sorted(
        p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" and "demo_files" not in p.parts
    )
    missing += [
        m.relative_to(PACKAGE).as_posix()
        for m in modules
        if not re.search(rf"(?<![\w/.]){re.escape(m.stem)}(\.py)?\b", text)
    ]
    assert missing == []


def test_everything_on_the_map_exists():
    text = the_map()
    named = set(re.findall(r"\b([a-z_0-9]+)\.py\b", text)) | set(
        re.findall(r"(?<![\w/])([a-z_0-9]+)/(?=[\s)])", text)
    )
    tree = {p.stem for p in PACKAGE.rglob("*.py")} | {p.name for p in PACKAGE.rglob("*") if p.is_dir()}
    tree |= {p.name for p in ROOT.iterdir() if p.is_dir()}
    assert sorted(named - tree) == []

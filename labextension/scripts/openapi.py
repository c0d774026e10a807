"""The sidebar's wire types, generated from the OpenAPI document the server serves.

The document is built in-process from the route table (``jupyter_trio.handlers.openapi.build_openapi``,
what ``GET /trio/api/openapi.json`` serves, no server needed) and kept as ``labextension/openapi.json``
(committed: the build of the wheel cannot import jupyter_trio's dependencies). openapi-typescript turns
that snapshot into ``src/generated/api.ts`` at every build (not committed); ``src/wire.ts`` names its
schemas for the rest of the sidebar::

    python labextension/scripts/openapi.py           # refresh openapi.json where jupyter_trio imports,
                                                     # then generate src/generated/api.ts from it
    python labextension/scripts/openapi.py --check   # exit 1 when openapi.json is stale

Run it with the project's Python (``.venv/bin`` on PATH) after changing a route or a pydantic model;
``tests/test_labextension_types.py`` fails while the snapshot is stale.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

LABEXTENSION = Path(__file__).resolve().parent.parent
REPO = LABEXTENSION.parent
SNAPSHOT = LABEXTENSION / "openapi.json"
OUTPUT = LABEXTENSION / "src" / "generated" / "api.ts"
COMMAND = "PATH=.venv/bin:$PATH python labextension/scripts/openapi.py"


def document() -> dict[str, Any]:
    """The OpenAPI document the server serves, built from its route table."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from jupyter_trio.app import TrioApp
    from jupyter_trio.handlers.openapi import build_openapi

    return build_openapi(TrioApp().route_table())


def serialize(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def stale(doc: dict[str, Any], snapshot: Path = SNAPSHOT) -> str | None:
    """Why ``snapshot`` is not ``doc`` ("stale: run ..."), or None when it is."""
    current = snapshot.read_text(encoding="utf-8") if snapshot.is_file() else None
    if current == serialize(doc):
        return None
    what = "missing" if current is None else "stale"
    return f"{snapshot.relative_to(REPO)} is {what}: run {COMMAND}"


def typescript(snapshot: Path = SNAPSHOT) -> str:
    """openapi-typescript's types for the document in ``snapshot`` (the pinned devDependency)."""
    result = subprocess.run(
        ["npx", "--no-install", "openapi-typescript", str(snapshot)],
        cwd=LABEXTENSION,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"openapi-typescript failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless ``path`` already holds it (left untouched, tsc's incremental build sees no
    change); True when written."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str]) -> int:
    if argv not in ([], ["--check"]):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        doc = document()
    except ImportError as err:
        if argv or not SNAPSHOT.is_file():
            raise
        print(f"openapi.py: jupyter_trio not importable here ({err}): using {SNAPSHOT.name}", file=sys.stderr)
        doc = None
    if argv == ["--check"]:
        reason = stale(doc)
        if reason:
            print(reason, file=sys.stderr)
        return 1 if reason else 0
    if doc is not None and write_if_changed(SNAPSHOT, serialize(doc)):
        print(f"openapi.py: wrote {SNAPSHOT.relative_to(REPO)}", file=sys.stderr)
    if write_if_changed(OUTPUT, typescript()):
        print(f"openapi.py: wrote {OUTPUT.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

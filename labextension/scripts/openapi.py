"""The sidebar's wire types, generated from the OpenAPI document the server serves.

The document is built in-process from the route table (``jupyter_trio.handlers.openapi.build_openapi``,
what ``GET /trio/api/openapi.json`` serves, no server needed) and openapi-typescript turns it into
``src/generated/api.ts``, which is committed; ``src/wire.ts`` names its schemas for the rest of the
sidebar. ``npm run build:lib`` runs this first::

    python labextension/scripts/openapi.py           # write src/generated/api.ts (when it changed)
    python labextension/scripts/openapi.py --check   # exit 1 when the committed file is stale

Run it with the project's Python (``.venv/bin`` on PATH) after changing a route or a pydantic model.
Where jupyter_trio cannot be imported (pip's isolated build of the wheel has none of its dependencies),
the committed file is kept; ``tests/test_labextension_types.py`` fails when it is stale.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

LABEXTENSION = Path(__file__).resolve().parent.parent
REPO = LABEXTENSION.parent
OUTPUT = LABEXTENSION / "src" / "generated" / "api.ts"
COMMAND = "PATH=.venv/bin:$PATH python labextension/scripts/openapi.py"


def document() -> dict[str, Any]:
    """The OpenAPI document the server serves, built from its route table."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from jupyter_trio.app import TrioApp
    from jupyter_trio.handlers.openapi import build_openapi

    return build_openapi(TrioApp().route_table())


def typescript(doc: dict[str, Any]) -> str:
    """openapi-typescript's types for ``doc`` (the labextension's pinned devDependency, read from stdin)."""
    result = subprocess.run(
        ["npx", "--no-install", "openapi-typescript"],
        cwd=LABEXTENSION,
        input=json.dumps(doc),
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"openapi-typescript failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def stale(doc: dict[str, Any], committed: Path = OUTPUT) -> str | None:
    """Why ``committed`` is not what ``doc`` generates ("stale: run ..."), or None when it is."""
    expected = typescript(doc)
    current = committed.read_text(encoding="utf-8") if committed.is_file() else None
    if current == expected:
        return None
    what = "missing" if current is None else "stale"
    return f"{committed.relative_to(REPO)} is {what}: run {COMMAND}"


def write(doc: dict[str, Any], output: Path = OUTPUT) -> bool:
    """Write the types of ``doc`` to ``output``; False when it already held them (left untouched, so
    tsc's incremental build sees no change)."""
    text = typescript(doc)
    if output.is_file() and output.read_text(encoding="utf-8") == text:
        return False
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str]) -> int:
    if argv not in ([], ["--check"]):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        doc = document()
    except ImportError as err:
        if argv or not OUTPUT.is_file():
            raise
        print(
            f"openapi.py: jupyter_trio not importable here ({err}): keeping {OUTPUT.relative_to(REPO)}",
            file=sys.stderr,
        )
        return 0
    if argv == ["--check"]:
        reason = stale(doc)
        if reason:
            print(reason, file=sys.stderr)
            return 1
        return 0
    if write(doc):
        print(f"openapi.py: wrote {OUTPUT.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

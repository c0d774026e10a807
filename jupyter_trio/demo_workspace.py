"""Create a ready-to-use demo workspace: example scripts, configs and notebooks.

``python -m jupyter_trio.demo_workspace FOLDER`` (what ``./dev lab`` runs). Existing files are never
overwritten,
so running it again on a workspace you have edited is safe.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent


def _notebook_dirs() -> list[Path]:
    # The wheel carries the notebooks inside the package; a source checkout has them at the top.
    return [PACKAGE_DIR / "notebooks", PACKAGE_DIR.parent / "notebooks"]


def create_demo_workspace(target: str | Path) -> list[Path]:
    """Copy the demo files into ``target``; return the files written (existing ones are kept)."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    sources: list[tuple[Path, Path]] = []
    for path in sorted((PACKAGE_DIR / "demo_files").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            sources.append((path, target / path.relative_to(PACKAGE_DIR / "demo_files")))
    for folder in _notebook_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.ipynb")):
                sources.append((path, target / "notebooks" / path.name))
            break
    written = []
    for src, dst in sources:
        if dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        written.append(dst)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="demo-workspace")
    args = parser.parse_args(argv)
    written = create_demo_workspace(args.folder)
    print(f"demo workspace ready in {Path(args.folder).absolute()} ({len(written)} new files)")


if __name__ == "__main__":
    main()

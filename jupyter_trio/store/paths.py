"""Where artifacts live under the workspace, and the one check that keeps request paths inside it."""

from __future__ import annotations

import os
from pathlib import Path


class PathOutsideWorkspace(ValueError):
    """A path from a request points outside the workspace (``..``, absolute, or through a symlink)."""


def resolve_inside(root: str | Path, relative: str) -> Path:
    """Resolve ``relative`` under ``root``, refusing anything that lands outside ``root``.

    Absolute paths and drive letters are refused outright; ``..`` segments and symlinks are
    resolved first and the real path must still be under the real root. NUL bytes are refused.
    """
    if "\x00" in relative:
        raise PathOutsideWorkspace("path contains a NUL byte")
    text = relative.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise PathOutsideWorkspace(f"absolute paths are not accepted: {relative!r}")
    real_root = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(real_root / text))
    if candidate != real_root and real_root not in candidate.parents:
        raise PathOutsideWorkspace(f"path leaves the workspace: {relative!r}")
    return candidate


def resolve_request_path(root: str | Path, path: str) -> Path:
    """A path a request names, absolute or relative to ``root``, resolved with :func:`resolve_inside`:
    an absolute path is accepted only when its real location is under the real ``root``."""
    real_root = os.path.realpath(root)
    relative = os.path.relpath(os.path.realpath(path), real_root) if os.path.isabs(path) else path
    return resolve_inside(real_root, relative)


class WorkspaceLayout:
    """Folder names of the workspace. The database references artifacts by these relative paths."""

    DB_FILE = "trio.db"

    def __init__(self, root: str | Path):
        self.root = Path(root).absolute()

    @property
    def db_path(self) -> Path:
        return self.root / self.DB_FILE

    def ensure(self) -> None:
        for sub in ("datasets", "projects", "tasks", "weights", "exports", "uploads", "samplers"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def task_dir(self, task_id: str) -> Path:
        return self.root / "tasks" / task_id

    def run_dir(self, task_id: str, run_index: int) -> Path:
        return self.task_dir(task_id) / "runs" / str(run_index)

    def relative(self, path: str | Path) -> str:
        return Path(path).absolute().relative_to(self.root).as_posix()

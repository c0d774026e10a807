"""Where artifacts live under the workspace, and the one check that keeps request paths inside it."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import PathOutsideWorkspace


def resolve_inside(root: str | Path, path: str) -> Path:
    """The one resolver of request paths: ``path`` absolute or relative to ``root``, refused unless its
    real location (``..`` segments and symlinks resolved) is ``root`` or under the real ``root``.

    Clients send both forms (pyruns and PaddleX clients send absolute server paths, and our own replies
    name absolute paths), so an absolute path is as good as a relative one as long as it stays inside.
    NUL bytes are refused.
    """
    if "\x00" in path:
        raise PathOutsideWorkspace("path contains a NUL byte")
    text = path.replace("\\", "/")
    real_root = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(real_root / text))  # an absolute ``text`` replaces real_root
    if candidate != real_root and real_root not in candidate.parents:
        raise PathOutsideWorkspace(f"path leaves the allowed folder {real_root}: {path!r}")
    return candidate


def resolve_in_roots(roots: list[str | Path], path: str) -> Path:
    """``path`` resolved with :func:`resolve_inside` under the first of ``roots`` that holds it; relative
    paths are taken from ``roots[0]``. The refusal names every allowed root."""
    if not roots:
        raise PathOutsideWorkspace("no folder is allowed here")
    if "\x00" in path:
        raise PathOutsideWorkspace("path contains a NUL byte")
    candidates = roots if os.path.isabs(path.replace("\\", "/")) else roots[:1]
    for root in candidates:
        try:
            return resolve_inside(root, path)
        except PathOutsideWorkspace:
            continue
    allowed = ", ".join(os.path.realpath(r) for r in roots)
    raise PathOutsideWorkspace(f"{path!r} is outside the allowed folders ({allowed})")


class WorkspaceLayout:
    """Folder names of the workspace. The database references artifacts by these relative paths."""

    DB_FILE = "trio.db"

    def __init__(self, root: str | Path):
        self.root = Path(root).absolute()

    @property
    def real_root(self) -> Path:
        """The root with symlinks resolved (what ``resolve_inside`` returns paths under)."""
        return Path(os.path.realpath(self.root))

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

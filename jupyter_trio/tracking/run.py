"""Which run this process belongs to: a job the runner started (its environment says), or a run opened
from a notebook with ``init()`` (kept here while it is open)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# the run opened by tracking.init() in this process, if any (see notebook.py)
notebook_run: dict[str, Any] | None = None


def get_run_dir() -> Path | None:
    run_dir = os.environ.get("TRIO_RUN_DIR")
    return Path(run_dir) if run_dir else (notebook_run["run_dir"] if notebook_run else None)


def get_task_dir() -> str | None:
    """The task's folder, or ``None`` outside a jupyter-trio run."""
    if os.environ.get("TRIO_TASK_DIR"):
        return os.environ["TRIO_TASK_DIR"]
    return str(notebook_run["task_dir"]) if notebook_run else None


def get_run_index() -> int | None:
    """The run slot (1, 2, ...) of this run, or ``None`` outside a jupyter-trio run."""
    if os.environ.get("TRIO_RUN_INDEX"):
        return int(os.environ["TRIO_RUN_INDEX"])
    return notebook_run["run_index"] if notebook_run else None

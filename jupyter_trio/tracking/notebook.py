"""Runs opened from a notebook cell (or any process the runner did not start): ``init``, ``finish``."""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import Any

from . import run
from .config import ConfigNode, use_config, workspace_candidates
from .writer import close_writer, install_exit_hooks


def init(
    name: str | None = None,
    *,
    workspace: str | os.PathLike | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Open a tracked run from a notebook cell (or any process the runner did not start).

    Creates a task of kind ``notebook`` in the workspace (``workspace``, else ``TRIO_WORKSPACE``, else the
    nearest ``.trio`` folder above the current directory) and a running run slot; ``track``/``record``
    then write there, and the server shows the run like any other. :func:`finish` (or process exit)
    marks it completed. Calling ``init`` again with the same name opens the task's next run slot.
    """
    if os.environ.get("TRIO_RUN_DIR"):
        raise RuntimeError(
            "init() is for runs outside the runner; this process already is a jupyter-trio run"
        )
    finish()
    from ..services.notebook_runs import open_notebook_run

    root = Path(workspace) if workspace else next(iter(workspace_candidates()), None)
    if root is None:
        raise FileNotFoundError("no jupyter-trio workspace found: pass workspace= or set TRIO_WORKSPACE")
    run.notebook_run = open_notebook_run(root, name, config or {})
    if config is not None:
        use_config(ConfigNode(config))
    install_exit_hooks()
    atexit.register(finish)
    return {k: str(v) if isinstance(v, Path) else v for k, v in run.notebook_run.items()}


def finish(status: str = "completed") -> None:
    """Close the run opened by :func:`init`: flush and mark it ``completed`` (or ``failed``...)."""
    if run.notebook_run is None:
        return
    close_writer()
    from ..services.notebook_runs import close_notebook_run

    opened, run.notebook_run = run.notebook_run, None
    close_notebook_run(opened, status)

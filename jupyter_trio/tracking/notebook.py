"""Runs opened from a notebook cell (or any process the runner did not start): ``init``, ``finish``.

The kernel asks its server to open the run (``POST /trio/api/notebook-runs``; the server owns the store) and
then tracks into the run folder the server names, as a job does. It finds the server as ``ServiceClient``
does (``client/discovery.py``)."""

from __future__ import annotations

import atexit
import os
from pathlib import Path
from typing import Any

from . import run
from .config import ConfigNode, use_config
from .writer import close_writer, install_exit_hooks


def _client(base_url: str, token: str) -> Any:
    from ..client.rest import RestClient

    return RestClient(base_url, token)


def init(
    name: str | None = None,
    *,
    workspace: str | os.PathLike | None = None,
    config: dict[str, Any] | None = None,
    base_url: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """Open a tracked run from a notebook cell (or any process the runner did not start).

    The server of this kernel (or ``base_url``/``token``) creates a task of kind ``notebook`` and a running
    run slot; ``track``/``record`` then write there, and the server shows the run like any other.
    :func:`finish` (or process exit) marks it completed. Calling ``init`` again with the same name opens the
    task's next run slot. ``workspace``, when given, must be the server's workspace (a check: the run lives
    where the server keeps its store).
    """
    if os.environ.get("TRIO_RUN_DIR"):
        raise RuntimeError(
            "init() is for runs outside the runner; this process already is a jupyter-trio run"
        )
    finish()
    from ..client.discovery import find_server

    location = find_server(base_url, token)
    client = _client(location.base_url, location.token)
    try:
        if workspace is not None:
            served = client.request("GET", f"{client.base_url}trio/api/health")["workspace"]
            if Path(served).resolve() != Path(workspace).expanduser().resolve():
                raise ValueError(f"workspace {workspace!s} is not this server's workspace ({served})")
        opened = client.request(
            "POST",
            f"{client.base_url}trio/api/notebook-runs",
            json={"name": name, "config": config or {}, "pid": os.getpid()},
        )
        opened["_server"] = (location.base_url, location.token)
    finally:
        client.close()
    paths = ("workspace", "task_dir", "run_dir")
    run.notebook_run = {k: Path(v) if k in paths else v for k, v in opened.items()}
    if config is not None:
        use_config(ConfigNode(config))
    install_exit_hooks()
    atexit.register(finish)
    return {k: str(v) if isinstance(v, Path) else v for k, v in run.notebook_run.items() if k != "_server"}


def finish(status: str = "completed") -> None:
    """Close the run opened by :func:`init`: flush and mark it ``completed`` (or ``failed``...)."""
    if run.notebook_run is None:
        return
    close_writer()
    opened, run.notebook_run = run.notebook_run, None
    base_url, token = opened["_server"]
    client = _client(base_url, token)
    try:
        client.request(
            "POST",
            f"{base_url}trio/api/notebook-runs/{opened['name']}/finish",
            json={"run": opened["run_index"], "status": status},
        )
    finally:
        client.close()

"""jupyter-trio: train, track and manage deep-learning jobs without leaving Jupyter."""

from __future__ import annotations

from ._version import __version__
from .tracking import (
    ConfigKeyError,
    ConfigNode,
    finish,
    flush,
    get_run_index,
    get_task_dir,
    init,
    load,
    publish,
    read,
    record,
    should_prune,
    track,
)

__all__ = [
    "__version__",
    "ConfigKeyError",
    "ConfigNode",
    "finish",
    "flush",
    "get_run_index",
    "get_task_dir",
    "init",
    "load",
    "publish",
    "read",
    "record",
    "should_prune",
    "track",
    "ServiceClient",
    "RestClient",
]


def __getattr__(name: str):
    # The client (httpx) is loaded when first asked for, not by every training job that imports tracking.
    if name in ("ServiceClient", "RestClient"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'jupyter_trio' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict]:
    from .app import TrioApp

    return [{"module": "jupyter_trio", "app": TrioApp}]

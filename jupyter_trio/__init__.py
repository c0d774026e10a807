"""jupyter-trio: train, track and manage deep-learning jobs without leaving Jupyter."""

from __future__ import annotations

from ._version import __version__

__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict]:
    from .app import TrioApp

    return [{"module": "jupyter_trio", "app": TrioApp}]

"""The in-job API: ``read``, ``load``, ``record``, ``track``, ``get_task_dir``, ``get_run_index``, ``init``,
``should_prune`` (a sweep's trial its pruner stopped).

Inside a job started by the runner, the environment says where the run lives (``TRIO_RUN_DIR``,
``TRIO_CONFIG``...). ``track`` and ``record`` append to files of the run folder, never over HTTP:

- each process writes its own ``metrics/<host>-<pid>.trk`` (series points, binary) and
  ``records/<host>-<pid>.jsonl`` (records), so data-parallel workers never contend or tear lines;
- points are buffered in memory and written by a background thread at least every
  ``TRIO_TRACK_FLUSH_S`` seconds (default 0.5), at exit, and on SIGTERM (the runner's cancel), so a
  ``track()`` call costs about a microsecond;
- ``track(..., flush=True)`` (or ``TRIO_TRACK_SYNC=1``) writes the point through to the operating
  system before returning: it survives the process being killed. ``TRIO_TRACK_FSYNC=1`` adds an fsync.

A job with no filesystem shared with the server (``c.RayExecutor.shared_filesystem = False``) gets
``TRIO_INGEST_URL`` and a run token instead: the same blocks go to the server's ingest route (see
``remote.py``), and ``publish(folder)`` sends saved files (checkpoints, exports) back.

Outside a job ``record``/``track`` return silently; ``init(name=...)`` opens a tracked run from a
notebook instead (see :func:`init`).
"""

from __future__ import annotations

from .config import ConfigKeyError, ConfigNode, load, read
from .notebook import finish, init
from .prune import should_prune
from .remote import publish
from .run import get_run_dir, get_run_index, get_task_dir
from .writer import flush, record, track

__all__ = [
    "ConfigNode",
    "ConfigKeyError",
    "read",
    "load",
    "record",
    "track",
    "flush",
    "publish",
    "init",
    "finish",
    "get_task_dir",
    "get_run_index",
    "get_run_dir",
    "should_prune",
]

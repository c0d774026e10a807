"""``LocalExecutor``: jobs as child processes of this machine, each under a shim (``shim.py``) that outlives
the server, writes the log files and ``exit.json`` into the run folder, and renews a Hub GPU lease."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

from . import procs
from .executor import Executor, JobSpec, JobState, Key, Started


class LocalExecutor(Executor):
    name = "local"

    def __init__(self) -> None:
        # the shims this server started (Popen handles reap them); after a restart, psutil finds them
        self._children: dict[Key, subprocess.Popen] = {}

    def submit(self, spec: JobSpec) -> Started:
        child = procs.launch(spec.run_dir, spec.argv, spec.cwd, spec.env, lease=spec.lease)
        self._children[spec.key] = child
        return Started(handle=str(child.pid), pid=child.pid)

    def poll(self, run: dict[str, Any], run_dir: Path) -> JobState:
        key = (run["task_id"], run["run_index"])
        child = self._children.get(key)
        alive = child.poll() is None if child is not None else procs.shim_alive(run["pid"], run["started_at"])
        return JobState(alive=alive, result=procs.read_json(run_dir / "exit.json"))

    def cancel(self, run: dict[str, Any], grace_s: float) -> None:
        if run["pid"]:
            procs.signal_group(run["pid"], signal.SIGTERM)

    def kill(self, run: dict[str, Any]) -> None:
        if run["pid"]:
            procs.kill_tree(run["pid"])

    def forget(self, key: Key) -> None:
        self._children.pop(key, None)

    def close(self) -> None:
        for child in self._children.values():
            child.returncode = 0  # we no longer wait for it; stop Popen's __del__ from warning
        self._children.clear()

"""``LocalExecutor``: jobs as child processes of this machine, each under a shim (``shim.py``) that outlives
the server, writes the log files and ``exit.json`` into the run folder, and renews a Hub GPU lease.

With ``warm_python`` (the default) a zygote (``shim.py --zygote``, jupyter_trio imported) forks each run's
shim, and the shim forks a script task's job: no interpreter starts for either. It also keeps
``spare_shims`` shims started ahead of need (``c.LocalExecutor.spare_shims``) for the runs the zygote
cannot take (while it starts, or without ``warm_python``): a run is handed to one that already waits, so
the job starts without waiting for an interpreter to come up; another is started right after. The job gets
the server's environment of the moment it is launched (``command.json`` carries it), not the one the
zygote or spare started with, less the server's credentials (``job_env.py``). A spare or the zygote exits
when the server goes; the shims they started go on."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from traitlets import Bool, Float, Int, TraitError, validate
from traitlets.config import Configurable

from ..domain import Run
from . import procs
from .executor import Executor, JobResult, JobSpec, JobState, Key, ServerContext, Started

log = logging.getLogger(__name__)


class LocalExecutor(Executor):
    """Jobs as child processes of this machine, each under a shim that outlives server restarts."""

    name = "local"

    spare_shims = Int(
        1,
        config=True,
        help="Job shims the local executor keeps started ahead of need, waiting for a run: a run handed to "
        "one starts its job without waiting for a Python interpreter to start (most of a launch's time). "
        "0 starts each shim when its run starts.",
    )

    warm_python = Bool(
        True,
        config=True,
        help="Keep a process with jupyter_trio imported (the zygote) that forks each run's supervisor, "
        "and the supervisor a script task's job (``python -u script.py`` of the server's Python, the same "
        "start-up environment): no interpreter starts for such a job, which counts for short sweep trials "
        "on a machine of few cores. Any other job starts its own interpreter. False: every job's "
        "interpreter starts cold.",
    )

    system_metrics_interval = Float(
        1.0,
        config=True,
        help="Seconds between samples of a run's system metrics (sys/cpu, sys/rss, sys/io_read, "
        "sys/io_write, and sys/gpu<N>_util / sys/gpu<N>_mem for the GPUs it holds), taken by its supervisor "
        "from /proc and NVML and kept as series of the run. 0 turns them off.",
    )

    @validate("system_metrics_interval")
    def _validate_interval(self, proposal: Any) -> float:
        if proposal["value"] != 0 and not 0.1 <= proposal["value"] <= 3600:
            raise TraitError("system_metrics_interval must be 0 (off) or between 0.1 and 3600 seconds")
        return proposal["value"]

    @validate("spare_shims")
    def _validate_spare_shims(self, proposal: Any) -> int:
        if not 0 <= proposal["value"] <= 16:
            raise TraitError("spare_shims must be between 0 and 16")
        return proposal["value"]

    def __init__(self, *, hidden: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # the shims this server started (Popen handles reap them); after a restart, psutil finds them
        self._children: dict[Key, subprocess.Popen] = {}
        self.hidden = hidden  # secret values kept out of every job's environment (the server's token)
        self._spares: list[subprocess.Popen] = []
        self._zygote: procs.Zygote | None = None
        self._started = False
        self._exit_watches: dict[int, tuple[asyncio.AbstractEventLoop, int]] = {}  # shim pid -> (loop, pidfd)

    @classmethod
    def for_server(cls, context: ServerContext, parent: Configurable | None = None) -> LocalExecutor:
        return cls(parent=parent, hidden=context.hidden)

    def start(self) -> None:
        self._started = True
        self._refill()
        self._warm_zygote()  # started now: ready (imported) by the first run

    def _warm_zygote(self) -> procs.Zygote | None:
        """The zygote, (re)started when it is gone; None without ``warm_python``."""
        if not self._started or not self.warm_python:
            return None
        if self._zygote is None or not self._zygote.alive():
            try:
                self._zygote = procs.Zygote(self.hidden)
            except OSError as exc:
                log.warning("could not start the job zygote: %s", exc)
                self._zygote = None
        return self._zygote

    def submit(self, spec: JobSpec) -> Started:
        launched = procs.launch(
            spec.run_dir,
            spec.argv,
            spec.cwd,
            spec.env,
            lease=spec.lease.to_json() if spec.lease is not None else None,
            take_spare=self._take,
            hidden=self.hidden,
            sample_s=self.system_metrics_interval,
            zygote=self._warm_zygote(),
        )
        if launched.process is not None:
            self._children[spec.key] = launched.process
        self._watch_exit(launched.pid)
        self._refill()
        return Started(handle=str(launched.pid), pid=launched.pid)

    def _watch_exit(self, pid: int) -> None:
        """Call ``on_job_ended`` the moment the shim exits (its exit.json is written by then): a pidfd the
        event loop reads, so the next job of a queue or a sweep starts within milliseconds of the last one's
        end instead of at the runner's next poll (``c.TrioApp.poll_interval``). Without a running loop or
        pidfds (Linux < 5.3) the poll alone finds the end."""
        if self.on_job_ended is None or not hasattr(os, "pidfd_open"):
            return
        try:
            loop = asyncio.get_running_loop()
            fd = os.pidfd_open(pid)
        except (RuntimeError, OSError):
            return
        self._exit_watches[pid] = (loop, fd)
        loop.add_reader(fd, self._shim_exited, pid)

    def _shim_exited(self, pid: int) -> None:
        self._unwatch(pid)
        if self.on_job_ended is not None:
            self.on_job_ended()

    def _unwatch(self, pid: int) -> None:
        watch = self._exit_watches.pop(pid, None)
        if watch is not None:
            loop, fd = watch
            loop.remove_reader(fd)
            os.close(fd)

    def _take(self) -> subprocess.Popen | None:
        """A spare that still waits, or None."""
        while self._spares:
            spare = self._spares.pop(0)
            if spare.poll() is None:
                return spare
        return None

    def _refill(self) -> None:
        while self._started and len(self._spares) < self.spare_shims:
            try:
                self._spares.append(procs.start_spare(self.hidden))
            except OSError as exc:  # no process to spare (limits): jobs start their own shims
                log.warning("could not start a spare shim: %s", exc)
                return

    def poll(self, run: Run, run_dir: Path) -> JobState:
        child = self._children.get(run.key)
        alive = child.poll() is None if child is not None else procs.shim_alive(run.pid, run.started_at)
        written = procs.read_json(run_dir / "exit.json")
        result = JobResult.from_json(written, ended_at=time.time()) if isinstance(written, dict) else None
        return JobState(alive=alive, result=result)

    def cancel(self, run: Run, grace_s: float) -> None:
        if run.pid:
            procs.signal_group(run.pid, signal.SIGTERM)

    def kill(self, run: Run) -> None:
        if run.pid:
            procs.kill_tree(run.pid)

    def forget(self, key: Key) -> None:
        self._children.pop(key, None)

    def close(self) -> None:
        self._started = False
        for pid in list(self._exit_watches):
            self._unwatch(pid)
        for spare in self._spares:
            procs.dismiss(spare)
        self._spares.clear()
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None
        for child in self._children.values():
            child.returncode = 0  # we no longer wait for it; stop Popen's __del__ from warning
        self._children.clear()

"""Starting the shim and signalling a job's processes (the local executor's process handling)."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from . import shim
from .job_env import job_environ
from .shim import write_json_atomic

# The shim only needs the standard library: run its file with -S (no site-packages scan, and no import
# of the jupyter_trio package) so a job starts ~30 ms sooner (a spare shim saves the rest of its start).
SHIM_ARGV = [sys.executable, "-S", str(Path(shim.__file__).resolve())]


ZYGOTE_ARGV = [sys.executable, "-u", str(Path(shim.__file__).resolve()), "--zygote"]
ZYGOTE_REPLY_S = 10.0  # a fork answers in milliseconds; a zygote silent this long is taken for broken


@dataclass(frozen=True)
class Launched:
    """A run's supervisor: its pid, and its ``Popen`` when this server started it (a zygote's fork has
    none: the zygote reaps it)."""

    pid: int
    process: subprocess.Popen | None = None


class Zygote:
    """The warm process that forks each run's supervisor (``shim.py --zygote``), with jupyter_trio
    imported: a script task then starts in a fork, no interpreter started for it."""

    def __init__(self, hidden: tuple[str, ...] = ()):
        self.process = subprocess.Popen(
            ZYGOTE_ARGV,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # its own errors go to the server's log; each fork's, to its run folder
            start_new_session=True,
            close_fds=True,
            env=job_environ(os.environ, hidden),
        )
        self.ready = False
        self._pending = b""

    def _line(self, timeout: float) -> str | None:
        """The zygote's next line, waiting at most ``timeout`` s; None when none came (or it ended)."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if not select.select([fd], [], [], max(left, 0))[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                return None
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line.decode()

    def fork(self, run_dir: Path) -> int | None:
        """The pid of the supervisor forked for ``run_dir``; None while the zygote still imports, or once it
        is gone (the caller starts a supervisor otherwise: the run folder's claim keeps it to one)."""
        if not self.alive() or self.process.stdin is None or not self.is_ready():
            return None
        try:
            self.process.stdin.write(f"{run_dir}\n".encode())
            self.process.stdin.flush()
        except OSError:
            return None
        line = self._line(ZYGOTE_REPLY_S)
        if line is None or not line.isdigit():
            self.close()
            return None
        return int(line)

    def is_ready(self) -> bool:
        """Whether it has imported what its forks need (it says so once); never waits."""
        if not self.ready and self._line(0) == "ready":
            self.ready = True
        return self.ready

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        """Its stdin ends, and so does it (the supervisors it forked go on)."""
        dismiss(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()


def launch(
    run_dir: Path,
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    lease: dict | None = None,
    take_spare: Callable[[], subprocess.Popen | None] | None = None,
    hidden: tuple[str, ...] = (),
    sample_s: float = 0.0,
    zygote: Zygote | None = None,
) -> Launched:
    """Start the shim for one run; it starts ``argv`` in a new session with the env additions, and renews
    ``lease`` (a GPU lease of the Hub's arbiter: url, secret, every) while the job runs.

    ``zygote`` forks the shim when it is ready; else a spare (from :func:`start_spare`, ``take_spare``) is
    handed the run when it still waits; otherwise a shim is started here. ``hidden``: secret values no
    variable of the job may hold (the server's token)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    # "environ": the server's environment now, less its credentials (``job_env``), which the job starts
    # from (a spare has the one it had when it started); "env": the run's additions to it
    spec = {
        "argv": argv,
        "cwd": cwd,
        "environ": job_environ(os.environ, hidden),
        "env": env,
        "sample_s": sample_s,  # the run's system metrics every this many seconds (0: none)
    } | ({"lease": lease} if lease else {})
    # env, and a lease's secret: 0600, and the shim rewrites it without them once it has read it
    write_json_atomic(run_dir / "command.json", spec, mode=0o600)
    if zygote is not None and (pid := zygote.fork(run_dir)) is not None:
        return Launched(pid)
    spare = take_spare() if take_spare is not None else None
    if spare is not None and hand_over(spare, run_dir):
        return Launched(spare.pid, spare)
    with open(run_dir / "shim.err", "ab") as shim_err:
        process = subprocess.Popen(
            [*SHIM_ARGV, str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=shim_err,
            start_new_session=True,
            close_fds=True,
            env=job_environ(os.environ, hidden),  # the supervisor needs no credential of the server either
        )
    return Launched(process.pid, process)


def start_spare(hidden: tuple[str, ...] = ()) -> subprocess.Popen:
    """A shim started ahead of need (``shim.py --spare``): in its own session, as a job's shim must be,
    waiting on its stdin for the run folder of :func:`launch`."""
    return subprocess.Popen(
        [*SHIM_ARGV, "--spare"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # until it is handed a run: then the run folder's shim.err
        start_new_session=True,
        close_fds=True,
        env=job_environ(os.environ, hidden),
    )


def hand_over(spare: subprocess.Popen, run_dir: Path) -> bool:
    """Give ``run_dir`` to a waiting spare; False when it is gone (the caller starts a shim instead)."""
    if spare.poll() is not None or spare.stdin is None:
        return False
    try:
        spare.stdin.write(f"{run_dir}\n".encode())
        spare.stdin.close()
    except OSError:  # it died between the check and the write
        return False
    return True


def dismiss(spare: subprocess.Popen) -> None:
    """Let a spare that is no longer wanted go: its stdin ends, and so does it."""
    try:
        if spare.stdin is not None:
            spare.stdin.close()
        spare.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        spare.kill()
        spare.wait()


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def shim_alive(pid: int | None, started_at: float | None) -> bool:
    """Is ``pid`` still the shim we started (not a zombie, not a new process with a reused pid)?"""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        # a pid that now belongs to a process born after our shim is not our shim
        return started_at is None or proc.create_time() <= started_at + 2.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tree(pid: int) -> None:
    """SIGKILL the shim's process group and every descendant (even those that left the group)."""
    try:
        proc = psutil.Process(pid)
        family = proc.children(recursive=True) + [proc]
    except psutil.NoSuchProcess:
        family = []
    signal_group(pid, signal.SIGKILL)
    for member in family:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass

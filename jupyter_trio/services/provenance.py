"""What ran: each run's provenance, captured when it starts (runs in: server).

``ProvenanceRecorder.capture`` is called by the runner right after a job is handed to its executor and
does its work on a thread of its own, off the path from queue to start (a sweep's next trial does not wait
for ``git``): the git state of the folder the code lives in (commit, branch, dirty, ``git diff HEAD`` capped
at ``MAX_DIFF_BYTES``, untracked files named), the job's Python and its installed packages (read once per
environment: again only when its site-packages folder changes), the host, and the names of the GPUs the run
holds with the NVIDIA driver's version. It is written to the run folder as ``provenance.json`` and read
back by ``read``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..domain import GitState, Provenance
from ..runner.gpus import driver_version

log = logging.getLogger(__name__)

PROVENANCE_FILE = "provenance.json"
MAX_DIFF_BYTES = 1 << 20  # the uncommitted diff kept per run
MAX_UNTRACKED = 200  # untracked files named per run
GIT_TIMEOUT_S = 10.0

# the job's Python describes itself and its packages (run once per environment)
_DESCRIBE = (
    "import importlib.metadata as m, json, platform, sys, sysconfig\n"
    "print(json.dumps({'python': platform.python_version(), 'purelib': sysconfig.get_paths()['purelib'],"
    " 'packages': {d.metadata['Name']: d.version for d in m.distributions() if d.metadata['Name']}}))"
)


class ProvenanceRecorder:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trio-provenance")
        self._envs: dict[str, tuple[str, float, dict[str, Any]]] = {}  # python -> (purelib, its mtime, facts)
        self._lock = threading.Lock()
        self._driver: str | None = None  # the NVIDIA driver's version, read on the first GPU run

    def capture(self, run_dir: Path, code_dir: Path | None, python: str, gpus: list[str]) -> None:
        """Record the run's provenance in the background (a failure is logged, never raised)."""
        self._pool.submit(self._capture, run_dir, code_dir, python, gpus)

    def _capture(self, run_dir: Path, code_dir: Path | None, python: str, gpus: list[str]) -> None:
        try:
            if gpus and self._driver is None:  # NVML read here, on this thread, once a server
                self._driver = driver_version()
            env = self.environment(python)
            provenance = Provenance(
                captured_at=time.time(),
                python=env.get("python", ""),
                executable=python,
                packages=env.get("packages", {}),
                host=socket.gethostname(),
                platform=platform.platform(),
                git=git_state(code_dir) if code_dir is not None else None,
                gpus=tuple(gpus),
                driver=(self._driver or "") if gpus else "",
            )
            write(run_dir, provenance)
        except Exception:  # provenance is a record: it never fails a run
            log.exception("could not record the provenance of %s", run_dir)

    def environment(self, python: str) -> dict[str, Any]:
        """The Python version and installed packages of ``python``, cached until its site-packages folder
        changes (a ``pip install`` there)."""
        with self._lock:
            cached = self._envs.get(python)
        if cached is not None:
            purelib, mtime, facts = cached
            try:
                if os.stat(purelib).st_mtime == mtime:
                    return facts
            except OSError:
                pass
        if os.path.abspath(python) == os.path.abspath(sys.executable):
            facts = _describe_here()  # the server's own Python: no interpreter to start
        else:
            out = subprocess.run(
                [python, "-c", _DESCRIBE], capture_output=True, text=True, timeout=60, check=True
            ).stdout
            facts = json.loads(out)
        try:
            mtime = os.stat(facts["purelib"]).st_mtime
        except OSError:
            mtime = -1.0
        with self._lock:
            self._envs[python] = (facts["purelib"], mtime, facts)
        return facts

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _describe_here() -> dict[str, Any]:
    """What ``_DESCRIBE`` prints, for this process's own Python."""
    import importlib.metadata
    import sysconfig

    packages = {
        d.metadata["Name"]: d.version for d in importlib.metadata.distributions() if d.metadata["Name"]
    }
    return {
        "python": platform.python_version(),
        "purelib": sysconfig.get_paths()["purelib"],
        "packages": packages,
    }


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
        check=True,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},  # read only: never take index.lock
    ).stdout


def git_state(folder: Path) -> GitState | None:
    """The git state of the repository ``folder`` is in; ``None`` outside one (or without git)."""
    try:
        root = _git(folder, "rev-parse", "--show-toplevel").strip()
        commit = _git(folder, "rev-parse", "HEAD").strip()
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD").strip()
        status = _git(folder, "status", "--porcelain", "--untracked-files=all")
        diff = _git(folder, "diff", "HEAD", "--no-color", "--no-ext-diff")
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("git state of %s incomplete: %s", folder, exc)
        return GitState(root=root, commit=commit, branch="", dirty=False)
    untracked = [line[3:] for line in status.splitlines() if line.startswith("?? ")]
    encoded = diff.encode()
    truncated = len(encoded) > MAX_DIFF_BYTES
    if truncated:
        diff = encoded[:MAX_DIFF_BYTES].decode(errors="ignore")
    return GitState(
        root=root,
        commit=commit,
        branch="" if branch == "HEAD" else branch,  # a detached HEAD has no branch
        dirty=bool(status.strip()),
        diff=diff,
        diff_truncated=truncated,
        untracked=tuple(untracked[:MAX_UNTRACKED]),
    )


def write(run_dir: Path, provenance: Provenance) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / f".{PROVENANCE_FILE}.tmp"
    tmp.write_text(json.dumps(asdict(provenance)))
    os.replace(tmp, run_dir / PROVENANCE_FILE)


def read(run_dir: Path) -> Provenance | None:
    """A run's provenance, or ``None`` before it was captured (or for a run older than this feature)."""
    try:
        data = json.loads((run_dir / PROVENANCE_FILE).read_text())
    except (OSError, ValueError):
        return None
    try:
        found = data.get("git")
        git = GitState(**{**found, "untracked": tuple(found.get("untracked", ()))}) if found else None
        return Provenance(**{**data, "git": git, "gpus": tuple(data.get("gpus", ()))})
    except (TypeError, KeyError):
        return None

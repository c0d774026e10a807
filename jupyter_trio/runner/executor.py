"""Where a run's process lives: the ``Executor`` seam, chosen by ``c.TrioApp.executor_class`` (or the short
form ``c.TrioApp.executor = "local" | "ray"``).

The runner owns the queue, placement and the record (the store); an executor only starts a job, says how
it is doing, stops it, and keeps the run folder's log files current. Every answer an executor gives comes
from what it can re-read after a server restart (the run's row: ``handle``, ``pid``, ``started_at``; the
run folder), so a new server re-attaches to jobs the last one started without remembering anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..vocabulary import TRAINER_KINDS

Key = tuple[str, int]  # (task_id, run_index)


# the one folder of its parent task a child job writes (the rest of the parent is its input, read only)
CHILD_OUTPUT_IN_PARENT = {"evaluate": "evaluate", "analysis": "prune"}


def output_folders(task_dir: Path, task: dict[str, Any]) -> list[Path]:
    """Folders a task's job writes into: its task folder, and for the trainer kinds the folders its config
    names as outputs (an export's save_dir, a prediction's out_dir) and the one folder of the parent task
    a child job writes (``evaluate/``, ``prune/``) — never the parent's checkpoints."""
    folders = [Path(task_dir)]
    if task["kind"] in TRAINER_KINDS:
        config = task["config"]
        parent, sub = config.get("parent_task_dir"), CHILD_OUTPUT_IN_PARENT.get(task["kind"])
        if isinstance(parent, str) and parent and sub:
            folders.append(Path(parent) / sub)
        for name in ("save_dir", "out_dir"):
            value = config.get(name)
            if isinstance(value, str) and value:
                folders.append(Path(value))
    return folders


@dataclass
class JobSpec:
    """What the runner asks an executor to start."""

    key: Key
    task: dict[str, Any]
    argv: list[str]  # argv[0] is the runner's Python for Python jobs (see ``python_job``)
    cwd: str
    env: dict[str, str]
    run_dir: Path
    gpus: list[int] = field(default_factory=list)  # indices placed by the runner's GPU source
    gpu_count: int = 0
    lease: dict[str, Any] | None = None  # a Hub GPU lease the job's supervisor renews
    python_job: bool = False  # argv runs a Python file or module (an executor may swap the interpreter)


@dataclass
class Started:
    handle: str  # the executor's own name for the job, stored in ``runs.handle``
    pid: int | None = None  # a local process to find it by (``runs.pid``), if any


@dataclass
class JobState:
    alive: bool
    # set once the job ended and its end is known: exit_code, ended_at, cancelled, error (exit.json's shape)
    result: dict[str, Any] | None = None
    # news while it runs, shown as the run's message (a Ray job waiting for the cluster); "" clears an
    # earlier one, None: nothing to say
    message: str | None = None


class Executor:
    """The interface; ``LocalExecutor`` and ``RayExecutor`` implement it."""

    name = ""

    @classmethod
    def configured(cls, app: Any) -> Executor:
        """Build from the server's settings (``c.TrioApp.*``); ``app`` is the ``TrioApp``."""
        return cls()

    def start(self) -> None:
        """Begin background work (threads, connections); called once by the server."""

    def submit(self, spec: JobSpec) -> Started:
        """Start the job now (the runner has placed it). Raises on a job that cannot start."""
        raise NotImplementedError

    def poll(self, run: dict[str, Any], run_dir: Path) -> JobState:
        """How the job of a ``running`` run is doing; never blocks on the network."""
        raise NotImplementedError

    def cancel(self, run: dict[str, Any], grace_s: float) -> None:
        """Ask the job to stop (SIGTERM or the cluster's equivalent); ``kill`` follows after ``grace_s``."""
        raise NotImplementedError

    def kill(self, run: dict[str, Any]) -> None:
        """Stop the job now, with everything it started."""
        raise NotImplementedError

    def forget(self, key: Key) -> None:
        """The run's end is recorded: drop what is kept about it."""

    def resources(self) -> Any:
        """A ``GPUSource`` of the executor's own (a cluster places GPUs itself), or ``None`` to use the
        server's configured one (``c.TrioApp.gpu_source``)."""
        return None

    def describe(self) -> dict[str, Any]:
        """For the health route: what this executor is and where it sends jobs."""
        return {"name": self.name}

    def close(self) -> None:
        """The server stops: jobs keep running; release threads and connections."""

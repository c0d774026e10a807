"""Where a run's process lives: the ``Executor`` seam, chosen by ``c.TrioApp.executor_class`` (or the short
form ``c.TrioApp.executor = "local" | "ray"``).

The runner owns the queue, placement and the record (the store); an executor only starts a job, says how
it is doing, stops it, and keeps the run folder's log files current. Every answer an executor gives comes
from what it can re-read after a server restart (the run: ``handle``, ``pid``, ``started_at``; the run
folder), so a new server re-attaches to jobs the last one started without remembering anything.

An executor is a ``LoggingConfigurable``: its settings are its own traits (``c.LocalExecutor.*``,
``c.RayExecutor.*``), and the server builds it with :meth:`Executor.for_server` from a
:class:`ServerContext` — what it may know of the server — never the server application itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets.config import Configurable, LoggingConfigurable

from ..domain import Run, Task
from ..vocabulary import TRAINER_KINDS

if TYPE_CHECKING:
    from ..services.run_tokens import RunTokens
    from ..store import Store
    from .gpu_sources import GPUSource

Key = tuple[str, int]  # (task_id, run_index)


# the one folder of its parent task a child job writes (the rest of the parent is its input, read only)
CHILD_OUTPUT_IN_PARENT = {"evaluate": "evaluate", "analysis": "prune"}


def output_folders(task_dir: Path, task: Task) -> list[Path]:
    """Folders a task's job writes into: its task folder, and for the trainer kinds the folders its config
    names as outputs (an export's save_dir, a prediction's out_dir) and the one folder of the parent task
    a child job writes (``evaluate/``, ``prune/``) — never the parent's checkpoints."""
    folders = [Path(task_dir)]
    if task.kind in TRAINER_KINDS:
        config = task.config
        parent, sub = config.get("parent_task_dir"), CHILD_OUTPUT_IN_PARENT.get(task.kind)
        if isinstance(parent, str) and parent and sub:
            folders.append(Path(parent) / sub)
        for name in ("save_dir", "out_dir"):
            value = config.get(name)
            if isinstance(value, str) and value:
                folders.append(Path(value))
    return folders


@dataclass(frozen=True)
class JobLease:
    """A Hub GPU lease as the job's supervisor renews and releases it (``shim.py``): the lease's URL, its
    secret, and how often to renew it (seconds)."""

    url: str
    secret: str
    every: float

    def to_json(self) -> dict[str, str | float]:
        return asdict(self)


@dataclass
class JobSpec:
    """What the runner asks an executor to start."""

    key: Key
    task: Task
    argv: list[str]  # argv[0] is the runner's Python for Python jobs (see ``python_job``)
    cwd: str
    env: dict[str, str]
    run_dir: Path
    gpus: list[int] = field(default_factory=list)  # indices placed by the runner's GPU source
    gpu_count: int = 0
    lease: JobLease | None = None  # a Hub GPU lease the job's supervisor renews
    python_job: bool = False  # argv runs a Python file or module (an executor may swap the interpreter)


@dataclass
class Started:
    handle: str  # the executor's own name for the job, stored in ``runs.handle``
    pid: int | None = None  # a local process to find it by (``runs.pid``), if any


@dataclass(frozen=True)
class JobResult:
    """How a job ended, once its end is known (``exit.json``'s fields)."""

    exit_code: int | None
    ended_at: float
    cancelled: bool = False
    error: str = ""  # why it failed, where the executor knows better than the exit code

    @classmethod
    def from_json(cls, data: Mapping[str, object], ended_at: float) -> JobResult:
        """From ``exit.json`` (``ended_at``: when it has none)."""
        code, ended, error = data.get("exit_code"), data.get("ended_at"), data.get("error")
        return cls(
            exit_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            ended_at=float(ended) if isinstance(ended, (int, float)) else ended_at,
            cancelled=data.get("cancelled") is True,
            error=error if isinstance(error, str) else "",
        )


@dataclass
class JobState:
    alive: bool
    # set once the job ended and its end is known
    result: JobResult | None = None
    # news while it runs, shown as the run's message (a Ray job waiting for the cluster); "" clears an
    # earlier one, None: nothing to say
    message: str | None = None


@dataclass(frozen=True)
class ServerContext:
    """What an executor may know of the server that builds it (``Executor.for_server``): explicit facts and
    services, never the server application."""

    workspace: Path  # the workspace folder
    root_dir: Path  # the server's root_dir
    store: Store | None = None  # the workspace's store (an executor's own settings: the Ray tag)
    run_tokens: RunTokens | None = None  # the run-token issuer (a job's token, or a claim for it)
    server_url: Callable[[], str] = lambda: ""  # the server's own URL (known once it listens)
    hidden: tuple[str, ...] = ()  # secret values no job's environment may hold (the server's token)
    cancel_grace_s: float = 10.0  # c.TrioApp.cancel_grace_period


class Executor(LoggingConfigurable):
    """The interface; ``LocalExecutor`` and ``RayExecutor`` implement it. Settings are traits of the
    subclass (``c.<Class>.<trait>``)."""

    name = ""
    # Set by the runner: call it (on the event loop) when a job has just ended, so the runner records the
    # end and starts the next job now instead of at its next poll. Executors that cannot tell need not.
    on_job_ended: Callable[[], None] | None = None

    @classmethod
    def for_server(cls, context: ServerContext, parent: Configurable | None = None) -> Executor:
        """Build for a server: ``parent`` (the server extension) carries the configuration, ``context``
        what the executor needs of the server. Override to pass what a subclass needs from ``context``."""
        return cls(parent=parent)

    def start(self) -> None:
        """Begin background work (threads, connections); called once by the server."""

    def submit(self, spec: JobSpec) -> Started:
        """Start the job now (the runner has placed it). Raises on a job that cannot start."""
        raise NotImplementedError

    def poll(self, run: Run, run_dir: Path) -> JobState:
        """How the job of a ``running`` run is doing; never blocks on the network."""
        raise NotImplementedError

    def cancel(self, run: Run, grace_s: float) -> None:
        """Ask the job to stop (SIGTERM or the cluster's equivalent); ``kill`` follows after ``grace_s``."""
        raise NotImplementedError

    def kill(self, run: Run) -> None:
        """Stop the job now, with everything it started."""
        raise NotImplementedError

    def forget(self, key: Key) -> None:
        """The run's end is recorded: drop what is kept about it."""

    def resources(self) -> GPUSource | None:
        """A ``GPUSource`` of the executor's own (a cluster places GPUs itself), or ``None`` to use the
        server's configured one (``c.TrioApp.gpu_source``)."""
        return None

    def describe(self) -> dict[str, Any]:
        """For the health route: what this executor is and where it sends jobs."""
        return {"name": self.name}

    def close(self) -> None:
        """The server stops: jobs keep running; release threads and connections."""

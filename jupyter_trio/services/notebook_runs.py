"""Runs opened by ``jupyter_trio.init()`` from a kernel, outside the runner.

They are tasks of kind ``notebook`` whose latest run is ``running`` with the kernel's pid: the server
lists and plots them like any run, and marks them ``interrupted`` if the kernel dies before
``finish()``. The kernel asks the server (``POST /trio/api/notebook-runs``), which owns the store: a kernel
never opens the workspace's database (ARCHITECTURE: kernels talk to the server over HTTP only); it writes
its tracked points into the run folder the server names, as a job does.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from ..domain import NewTask
from ..errors import Conflict, NotFound, ValidationFailed
from ..store import Store
from ..store.task_files import materialize

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
CLOSING_STATES = ("completed", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class OpenedRun:
    """Where a notebook run opened from a kernel lives (the kernel's tracking writes into ``run_dir``)."""

    workspace: str
    task_id: str
    name: str
    run_index: int
    task_dir: str
    run_dir: str


class NotebookRunService:
    def __init__(self, store: Store):
        self.store = store

    def open(self, owner: str, name: str | None, config: dict[str, Any], pid: int) -> OpenedRun:
        """Open the next run of the notebook task ``name`` (made on first use) as ``running`` with the
        kernel's ``pid``; where it lives, for the kernel's tracking to write into."""
        store = self.store
        name = name or f"notebook_{time.strftime('%Y%m%d-%H%M%S')}"
        if not NAME.fullmatch(name):
            raise ValidationFailed(f"run name {name!r}: use letters, digits, '.', '_' or '-'")
        task = store.tasks.get(name)
        if task is None:
            with store.db.transaction() as conn:
                new = NewTask(name=name, kind="notebook", owner=owner, config=config)
                store.tasks.insert_many(conn, [new])
            task = store.tasks.get(name)
        elif task.kind != "notebook":
            raise Conflict(f"task {name!r} exists and is a {task.kind} task, not a notebook run")
        elif task.status == "running":
            raise Conflict(f"notebook run {name!r} is already open (run {task.run_index})")
        materialize(store.layout, task.id, "notebook", config, "")
        index = store.tasks.add_run(task.id)
        run_dir = store.layout.run_dir(task.id, index)
        run_dir.mkdir(parents=True, exist_ok=True)
        store.tasks.set_run(task.id, index, status="running", pid=pid, started_at=time.time())
        return OpenedRun(
            workspace=str(store.root),
            task_id=task.id,
            name=name,
            run_index=index,
            task_dir=str(store.layout.task_dir(task.id)),
            run_dir=str(run_dir),
        )

    def close(self, name: str, run_index: int, status: str) -> None:
        """Mark the run ended (``completed`` by default); a run already ended stays as it is."""
        if status not in CLOSING_STATES:
            raise ValidationFailed(f"status: one of {', '.join(CLOSING_STATES)}")
        task = self.store.tasks.get(name)
        if task is None or task.kind != "notebook":
            raise NotFound(f"no notebook run {name!r}")
        current = self.store.tasks.run(task.id, run_index)
        if current is None:
            raise NotFound(f"notebook run {name!r} has no run {run_index}")
        if current.status == "running":
            self.store.tasks.set_run(
                task.id,
                run_index,
                status=status,
                ended_at=time.time(),
                exit_code=0 if status == "completed" else None,
            )

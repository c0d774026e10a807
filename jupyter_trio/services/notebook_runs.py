"""Runs opened by ``jupyter_trio.init()`` from a kernel, outside the runner.

They are tasks of kind ``notebook`` whose latest run is ``running`` with the kernel's pid: the server
lists and plots them like any run, and marks them ``interrupted`` if the kernel dies before
``finish()``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from ..store import Store
from ..store.task_files import materialize
from ..store.tasks import NewTask
from .users import local_owner


def open_notebook_run(workspace: Path, name: str | None, config: dict[str, Any]) -> dict[str, Any]:
    store = Store(workspace)
    try:
        name = name or f"notebook_{time.strftime('%Y%m%d-%H%M%S')}"
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", name):
            raise ValueError(f"run name {name!r}: use letters, digits, '.', '_' or '-'")
        task = store.tasks.get(name)
        if task is None:
            with store.db.transaction() as conn:
                store.tasks.insert_many(
                    conn, [NewTask(name=name, kind="notebook", owner=local_owner(), config=config)]
                )
            task = store.tasks.get(name)
        elif task["kind"] != "notebook":
            raise ValueError(f"task {name!r} exists and is a {task['kind']} task, not a notebook run")
        elif task["status"] == "running":
            raise ValueError(f"notebook run {name!r} is already open (run {task['last_run']})")
        materialize(store.layout, task["id"], "notebook", config, "")
        index = store.tasks.add_run(task["id"])
        run_dir = store.layout.run_dir(task["id"], index)
        run_dir.mkdir(parents=True, exist_ok=True)
        store.tasks.set_run(task["id"], index, status="running", pid=os.getpid(), started_at=time.time())
        return {
            "workspace": store.root,
            "task_id": task["id"],
            "name": name,
            "run_index": index,
            "task_dir": store.layout.task_dir(task["id"]),
            "run_dir": run_dir,
        }
    finally:
        store.close()


def close_notebook_run(run: dict[str, Any], status: str) -> None:
    store = Store(run["workspace"])
    try:
        current = store.tasks.run(run["task_id"], run["run_index"])
        if current is not None and current["status"] == "running":
            store.tasks.set_run(
                run["task_id"],
                run["run_index"],
                status=status,
                ended_at=time.time(),
                exit_code=0 if status == "completed" else None,
            )
    finally:
        store.close()

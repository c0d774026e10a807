"""Tasks acted on by the batch (pyruns's batch run, batch delete and manual order): every named task is
looked up first, so an unknown name is a 404 before anything changed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..domain import Task, TaskQuery
from ..errors import BadRequest, Conflict, NotFound, ValidationFailed
from .run_table import RunTableService
from .tasks import TaskService


@dataclass(frozen=True, slots=True)
class BatchRun:
    """The tasks whose new run was queued, and the names of those that could not run now."""

    items: list[Task]
    skipped: list[str]


def _lookup(tasks: TaskService, names: Iterable[str], what: str) -> list[Task]:
    """The named tasks in order, blank names and repeats dropped (as pyruns does); a 404 for an unknown
    one, a 400 when none is left."""
    found: list[Task] = []
    seen: set[str] = set()
    for raw in names:
        name = raw.strip()
        if not name or name in seen:
            continue
        task = tasks.get(name)
        if task.id not in seen:  # a task named once by its name and once by its id counts once
            found.append(task)
        seen.update((name, task.id))
    if not found:
        raise BadRequest(f"no valid tasks were provided for {what}", code="no_tasks")
    return found


def run_many(tasks: TaskService, names: Iterable[str], max_workers: int | None = None) -> BatchRun:
    """Queue a new run of each named task. A task that cannot run now — already queued or running, a
    notebook run, more GPUs than the server has — is skipped, not an error; none queued is a 400.

    ``max_workers`` is pyruns's cap on the jobs that run at once; here it sets how many jobs without GPUs
    the runner runs at once from now on (``max_cpu_jobs``, until the server restarts). GPU jobs are bounded
    by the GPUs, as always."""
    found = _lookup(tasks, names, "batch run")
    if max_workers is not None:
        tasks.runner.max_cpu_jobs = max_workers
    queued, skipped = [], []
    for task in found:
        try:
            queued.append(tasks.run(task.id))
        except (Conflict, ValidationFailed):
            skipped.append(task.name)
    if not queued:
        raise BadRequest(
            "none of the selected tasks could be started: " + ", ".join(skipped), code="no_tasks"
        )
    return BatchRun(items=queued, skipped=skipped)


def delete_many(tasks: TaskService, names: Iterable[str]) -> list[str]:
    """Delete each named task and its files, as ``DELETE /tasks/{name}?force=true`` does: a queued or
    running one is stopped first (pyruns stops them too). Returns the names deleted; a child job named
    after its training task was deleted with it."""
    deleted = []
    for task in _lookup(tasks, names, "batch delete"):
        try:
            tasks.delete(task.id, force=True)
        except NotFound:
            continue  # gone with its parent, listed before it
        deleted.append(task.name)
    return deleted


def reorder(tasks: TaskService, items: list[tuple[str, bool | None]]) -> list[Task]:
    """Put the named tasks in this order, and pin or unpin those whose ``pinned`` is given.

    pyruns keeps a manual order of its task cards. Here the order that counts is the queue's: the runner
    starts queued runs highest ``priority`` first. So the listed tasks get consecutive priorities, the
    first the highest, all above every task not listed (the highest of those + 1 for the last): their
    queued runs start in this order, before the others', and the task list sorted by priority shows them
    in it. Tasks not listed keep theirs. One transaction: all or nothing."""
    if not items:
        raise BadRequest("no valid tasks were provided for reordering", code="no_tasks")
    listed: set[str] = set()
    found: list[tuple[Task, bool | None]] = []
    for name, pin in items:
        task = tasks.get(name)
        if name in listed or task.id in listed:
            raise BadRequest(f"task {name!r} is listed twice", code="duplicate_task")
        listed.update((name, task.id, task.name))
        found.append((task, pin))
    ids = {task.id for task, _ in found}
    above, _ = tasks.list(TaskQuery(sort="priority", descending=True, limit=len(ids) + 1))
    base = next((task.priority for task in above if task.id not in ids), 0)
    with tasks.store.db.transaction():
        for position, (task, pin) in enumerate(found):
            fields: dict[str, int | bool] = {"priority": base + len(found) - position}
            if pin is not None:
                fields["pinned"] = pin
            tasks.repo.update(task.id, **fields)
    tasks.runner.wake()
    return [tasks.get(task.id) for task, _ in found]


def export_csv(tasks: TaskService, run_table: RunTableService, names: Iterable[str]) -> str:
    """pyruns's task export: the named tasks' runs as CSV (see ``RunTableService.tasks_csv``)."""
    return run_table.tasks_csv([task.id for task in _lookup(tasks, names, "export")])

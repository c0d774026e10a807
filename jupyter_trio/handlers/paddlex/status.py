"""PaddleX's status integers for train tasks and their child jobs, derived from run states.

A train task's TaskStatus follows its own run (XINIT → XTRAINING → XTRAINDONE / XTRAINFAIL /
XTRAINEXIT; prune tasks train as XPRUNETRAIN) and, once trained, its latest evaluation or export
(XEVALUATING / XEVALUATED / XEVALUATEFAIL, XEXPORTING / XEXPORTED / XEXPORTFAIL).
"""

from __future__ import annotations

from collections.abc import Callable

from ...domain import Task
from .enums import PredictStatus, PruneStatus, TaskStatus

_BY_RUN_STATE = {
    "pending": TaskStatus.XINIT,
    "queued": TaskStatus.XINIT,
    "running": TaskStatus.XTRAINING,
    "completed": TaskStatus.XTRAINDONE,
    "failed": TaskStatus.XTRAINFAIL,
    "cancelled": TaskStatus.XTRAINEXIT,
    "interrupted": TaskStatus.XTRAINEXIT,
    "pruned": TaskStatus.XTRAINEXIT,  # a sweep stopped it early: PaddleX knows only "stopped"
}
_CHILD = {
    "evaluate": {
        "queued": TaskStatus.XEVALUATING,
        "running": TaskStatus.XEVALUATING,
        "completed": TaskStatus.XEVALUATED,
        "failed": TaskStatus.XEVALUATEFAIL,
    },
    "export": {
        "queued": TaskStatus.XEXPORTING,
        "running": TaskStatus.XEXPORTING,
        "completed": TaskStatus.XEXPORTED,
        "failed": TaskStatus.XEXPORTFAIL,
    },
}


def task_status(task: Task, child: Callable[[str], Task | None] | None = None) -> TaskStatus:
    """``child(kind)`` looks up the task's evaluate/export job (None: not asked for)."""
    status = _BY_RUN_STATE.get(task.status, TaskStatus.XUNINIT)
    if task.kind == "prune" and status == TaskStatus.XTRAINING:
        return TaskStatus.XPRUNETRAIN
    if status != TaskStatus.XTRAINDONE or child is None:
        return status
    latest = max(
        (
            c
            for c in (child("evaluate"), child("export"))
            if c is not None and c.status in ("queued", "running", "completed", "failed")
        ),
        key=lambda c: c.updated_at,
        default=None,
    )
    if latest is None:
        return status
    return _CHILD[latest.kind][latest.status]


def evaluate_status(job: Task | None) -> TaskStatus:
    if job is None:
        return TaskStatus.XTRAINDONE
    return _CHILD["evaluate"].get(job.status, TaskStatus.XEVALUATEFAIL)


def predict_status(job: Task | None) -> PredictStatus:
    """Prediction and export jobs (PaddleX reports both with PredictStatus)."""
    if job is None or job.status in ("pending", "queued", "running"):
        return PredictStatus.XPRESTART
    return PredictStatus.XPREDONE if job.status == "completed" else PredictStatus.XPREFAIL


def prune_status(job: Task | None) -> PruneStatus:
    return {
        "pending": PruneStatus.XSPRUNESTART,
        "queued": PruneStatus.XSPRUNESTART,
        "running": PruneStatus.XSPRUNEING,
        "completed": PruneStatus.XSPRUNEDONE,
        "failed": PruneStatus.XSPRUNEFAIL,
    }.get(job.status if job is not None else "pending", PruneStatus.XSPRUNEEXIT)

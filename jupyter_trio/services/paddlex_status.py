"""PaddleX's TaskStatus of a task, derived from its run state (train tasks refine this later)."""

from __future__ import annotations

from typing import Any

from ..enums import TaskStatus

_BY_RUN_STATE = {
    "pending": TaskStatus.XINIT,
    "queued": TaskStatus.XINIT,
    "running": TaskStatus.XTRAINING,
    "completed": TaskStatus.XTRAINDONE,
    "failed": TaskStatus.XTRAINFAIL,
    "cancelled": TaskStatus.XTRAINEXIT,
    "interrupted": TaskStatus.XTRAINEXIT,
}


def task_status(task: dict[str, Any]) -> TaskStatus:
    return _BY_RUN_STATE.get(task["status"], TaskStatus.XUNINIT)

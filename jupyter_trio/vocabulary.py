"""The core's vocabulary, defined once: task kinds and task/run states (native names).

``script`` and ``shell`` tasks are pyruns-style experiments; ``train`` and ``prune`` tasks are training
runs (PaddleX tasks, v1 training runs); the child jobs belong to a training run and read its checkpoints.
Dialects translate these names (PaddleX's integers live in ``enums.py`` and its dialect only).
"""

from __future__ import annotations

from typing import Any

RUN_KINDS = ("train", "prune")  # training runs
CHILD_JOB_KINDS = ("analysis", "evaluate", "predict", "export")  # belong to their parent training run
TRAINER_KINDS = (*RUN_KINDS, *CHILD_JOB_KINDS)  # jobs of jupyter_trio.trainers.job

ACTIVE = ("queued", "running")  # a run the runner still owns
FINAL = ("completed", "failed", "cancelled", "interrupted")
FAILED = ("failed", "interrupted")  # final states that carry a failure reason
TASK_STATES = ("pending", *ACTIVE, *FINAL)

# project types, in PaddleX's order (its ProjectType integers are these indices)
PROJECT_TYPES = (
    "classification",
    "detection",
    "segmentation",
    "instance_segmentation",
    "remote_segmentation",
)
DATASET_TYPES = PROJECT_TYPES
# the types whose models label every pixel (remote_segmentation: on images of N bands)
SEGMENTATION_TYPES = ("segmentation", "remote_segmentation")

# a dataset: created empty, imported (checked, then copied in), then split for training
DATASET_STATES = ("empty", "checking", "check_failed", "copying", "copy_failed", "imported", "split")
IMPORTING = ("checking", "copying")
# a generated demo dataset: generating → generated (being checked) → ready, or failed
DEMO_STATES = ("generating", "generated", "ready", "failed")
# kept weights (a pretrained copy or a registered export)
WEIGHTS_STATES = ("saving", "save_failed", "saved")


def failure_reason(task: dict[str, Any]) -> str | None:
    """Why the task's latest run failed or was interrupted (its run's message: the exception's last
    line, the signal, or the exit code); ``None`` when it did not fail. Never an empty string."""
    if task["status"] not in FAILED:
        return None
    return task.get("message") or "ended without a reason"


def project_type(value: int | str) -> str:
    """A project type given as its name or as PaddleX's integer → the name; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"unknown project type {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        index = int(value)
        if 0 <= index < len(PROJECT_TYPES):
            return PROJECT_TYPES[index]
        raise ValueError(f"unknown project type {value!r}")
    if value in PROJECT_TYPES:
        return value
    raise ValueError(f"unknown project type {value!r}; one of {', '.join(PROJECT_TYPES)}")

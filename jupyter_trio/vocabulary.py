"""The core's vocabulary as tuples of names: task kinds and states (the enums in ``domain/states.py``).

``script`` and ``shell`` tasks are pyruns-style experiments; ``train`` and ``prune`` tasks are training
runs (PaddleX tasks, v1 training runs); the child jobs belong to a training run and read its checkpoints.
Dialects translate these names (PaddleX's integers live in ``enums.py`` and its dialect only).
"""

from __future__ import annotations

from .domain.entities import Task
from .domain.states import DatasetState, DemoState, ProjectType, RunState, TaskKind, TaskState, WeightsState


def _names(*states: str) -> tuple[str, ...]:
    # plain strings, so the tuples read the same in SQL (``status IN {ACTIVE!r}``) and in messages
    return tuple(str(s) for s in states)


RUN_KINDS = _names(TaskKind.TRAIN, TaskKind.PRUNE)  # training runs
# belong to their parent training run
CHILD_JOB_KINDS = _names(TaskKind.ANALYSIS, TaskKind.EVALUATE, TaskKind.PREDICT, TaskKind.EXPORT)
TRAINER_KINDS = (*RUN_KINDS, *CHILD_JOB_KINDS)  # jobs of jupyter_trio.trainers.job

ACTIVE = _names(RunState.QUEUED, RunState.RUNNING)  # a run the runner still owns
FINAL = _names(RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED, RunState.INTERRUPTED, RunState.PRUNED)
FAILED = _names(TaskState.FAILED, TaskState.INTERRUPTED)  # final states that carry a failure reason
TASK_STATES = _names(*TaskState)

# project types, in PaddleX's order (its ProjectType integers are these indices)
PROJECT_TYPES = _names(*ProjectType)
DATASET_TYPES = PROJECT_TYPES
# the types whose models label every pixel (remote_segmentation: on images of N bands)
SEGMENTATION_TYPES = _names(ProjectType.SEGMENTATION, ProjectType.REMOTE_SEGMENTATION)

DATASET_STATES = _names(*DatasetState)
IMPORTING = _names(DatasetState.CHECKING, DatasetState.COPYING)
DEMO_STATES = _names(*DemoState)
WEIGHTS_STATES = _names(*WeightsState)


def failure_reason(task: Task) -> str | None:
    """Why the task's latest run failed or was interrupted (its run's message: the exception's last
    line, the signal, or the exit code); ``None`` when it did not fail. Never an empty string."""
    return task.failure_reason


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

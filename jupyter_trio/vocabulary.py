"""The core's vocabulary, defined once: task kinds and task/run states (native names).

``script`` and ``shell`` tasks are pyruns-style experiments; ``train`` and ``prune`` tasks are training
runs (PaddleX tasks, v1 training runs); the child jobs belong to a training run and read its checkpoints.
Dialects translate these names (PaddleX's integers live in ``enums.py`` and its dialect only).
"""

from __future__ import annotations

RUN_KINDS = ("train", "prune")  # training runs
CHILD_JOB_KINDS = ("analysis", "evaluate", "predict", "export")  # belong to their parent training run
TRAINER_KINDS = (*RUN_KINDS, *CHILD_JOB_KINDS)  # jobs of jupyter_trio.trainers.job

ACTIVE = ("queued", "running")  # a run the runner still owns
FINAL = ("completed", "failed", "cancelled", "interrupted")
FAILED = ("failed", "interrupted")  # final states that carry a failure reason
TASK_STATES = ("pending", *ACTIVE, *FINAL)

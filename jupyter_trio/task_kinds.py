"""The kinds of task, defined once (the store, runner, services, dialects and panels all use these).

``script`` and ``shell`` tasks are pyruns-style experiments; ``train`` and ``prune`` tasks are training
runs (PaddleX tasks, v1 training runs); the child jobs belong to a training run and read its checkpoints.
"""

from __future__ import annotations

RUN_KINDS = ("train", "prune")  # training runs
CHILD_JOB_KINDS = ("analysis", "evaluate", "predict", "export")  # belong to their parent training run
TRAINER_KINDS = (*RUN_KINDS, *CHILD_JOB_KINDS)  # jobs of jupyter_trio.trainers.job

"""The states of the domain's entities, as enums used end to end (store, services, runner, schemas).

Each is a ``StrEnum`` whose values are the native names the store keeps and the native dialect serves, so
``TaskState.RUNNING == "running"`` and a state goes through JSON and SQL as its name. PaddleX's integers
exist only in its dialect (``handlers/paddlex/enums.py``).
"""

from __future__ import annotations

from enum import StrEnum


class TaskKind(StrEnum):
    """What a task runs: training runs (``train``, ``prune``), their child jobs, or a user's experiment."""

    TRAIN = "train"
    PRUNE = "prune"
    ANALYSIS = "analysis"
    EVALUATE = "evaluate"
    PREDICT = "predict"
    EXPORT = "export"
    SCRIPT = "script"
    SHELL = "shell"
    NOTEBOOK = "notebook"  # a run opened from a live kernel (trio.init)
    NOTEBOOK_JOB = "notebook_job"  # a notebook executed headless with parameters (papermill)


class RunState(StrEnum):
    """One attempt of a task: queued, then running, then one of the final states."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # its supervisor ended without recording an exit
    PRUNED = "pruned"  # a sweep's trial its pruner stopped early (a result, not a failure)

    @property
    def active(self) -> bool:
        """The runner still owns the run."""
        return self in (RunState.QUEUED, RunState.RUNNING)

    @property
    def final(self) -> bool:
        return not self.active


class TaskState(StrEnum):
    """A task's state is its latest run's, or ``pending`` before its first run."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    PRUNED = "pruned"

    @property
    def active(self) -> bool:
        return self in (TaskState.QUEUED, TaskState.RUNNING)

    @property
    def failed(self) -> bool:
        """A final state that carries a failure reason."""
        return self in (TaskState.FAILED, TaskState.INTERRUPTED)


class DatasetState(StrEnum):
    """A dataset: created empty, imported (checked, then copied in), then split for training."""

    EMPTY = "empty"
    CHECKING = "checking"
    CHECK_FAILED = "check_failed"
    COPYING = "copying"
    COPY_FAILED = "copy_failed"
    IMPORTED = "imported"
    SPLIT = "split"


class DemoState(StrEnum):
    """A generated demo dataset: generating → generated (being checked) → ready, or failed."""

    GENERATING = "generating"
    GENERATED = "generated"
    READY = "ready"
    FAILED = "failed"


class WeightsState(StrEnum):
    """Kept weights (a pretrained copy or a registered export)."""

    SAVING = "saving"
    SAVE_FAILED = "save_failed"
    SAVED = "saved"


class WeightsKind(StrEnum):
    PRETRAINED = "pretrained"  # copied from a training run's checkpoint (PaddleX's PM0001)
    EXPORTED = "exported"  # an inference model registered by an export job (EM0001)


class CheckpointKind(StrEnum):
    TRAINING = "training"  # a saved epoch, resumable
    SAMPLER = "sampler"  # the best model, for prediction


class ProjectType(StrEnum):
    """Project (and dataset) types, in PaddleX's order: its ProjectType integers are the indices."""

    CLASSIFICATION = "classification"
    DETECTION = "detection"
    SEGMENTATION = "segmentation"
    INSTANCE_SEGMENTATION = "instance_segmentation"
    REMOTE_SEGMENTATION = "remote_segmentation"


class SamplerState(StrEnum):
    """A sampler: recorded (ready), its prediction process started and answered (loaded), or failed."""

    READY = "ready"
    LOADED = "loaded"
    FAILED = "failed"


class SweepState(StrEnum):
    """A sweep asks for trials while ``running``; ``paused`` lets its running trials finish and asks for
    none; it ends ``completed`` (its budget met), ``stopped`` (by its user) or ``failed`` (its first trials
    all failed)."""

    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"


class TrialState(StrEnum):
    """A trial as Optuna records it (``optuna.trial.TrialState``, lower case)."""

    RUNNING = "running"  # asked for: its task is queued or running
    COMPLETE = "complete"
    PRUNED = "pruned"
    FAIL = "fail"


class ScheduleOverlap(StrEnum):
    """What a schedule does when it fires while its task's previous run is still queued or running."""

    SKIP = "skip"
    QUEUE = "queue"


class ScheduleCatchup(StrEnum):
    """What a schedule does with the fire times it missed while no server was up (beyond the grace)."""

    SKIP = "skip"
    ONCE = "once"


class ScheduleMode(StrEnum):
    """What a fire makes: a new run of the task, or a new task from the same definition."""

    RERUN = "rerun"
    NEW_TASK = "new_task"

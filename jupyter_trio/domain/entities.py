"""The domain's entities: immutable records the store returns and services, the runner and the schemas
take. No I/O here, and nothing below: this module imports the standard library and ``states`` only (the
layering test keeps it so), which lets every process (server, job, kernel, Hub service) load it.

Free-form user data stays JSON (:data:`JSONObject`): a task's ``config``, ``params`` and ``env`` as the user
wrote them, tracked ``metrics``, an entity's ``attrs`` (the facts a dialect needs that have no column).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .states import (
    CheckpointKind,
    DatasetState,
    RunState,
    SamplerState,
    ScheduleCatchup,
    ScheduleMode,
    ScheduleOverlap,
    SweepState,
    TaskKind,
    TaskState,
    TrialState,
    WeightsKind,
    WeightsState,
)

JSONObject = dict[str, Any]  # free-form user data as parsed from JSON or YAML


@dataclass(frozen=True, slots=True)
class Run:
    """One attempt of a task (pyruns's run slot): queued, started on ``gpu_ids`` by an executor, ended."""

    task_id: str
    run_index: int  # 1, 2, ... within the task
    status: RunState
    queued_at: float
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    pid: int | None = None  # the local supervisor's process (or the kernel's, for a notebook run)
    gpu_ids: tuple[int, ...] = ()  # the GPU indices the run holds
    message: str = ""  # why it waits, failed or was interrupted
    created_by: str = ""  # who queued it (a Hub guest may run the owner's tasks)
    executor: str = "local"  # the executor that started it ('local', 'ray')
    handle: str = ""  # that executor's own name for the job
    cancel_requested_at: float | None = None
    retry_of: int | None = None  # the run this one retries (its index), if it is a retry
    not_before: float | None = None  # a retry waits in the queue until then (its back-off)

    @property
    def key(self) -> tuple[str, int]:
        return (self.task_id, self.run_index)


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    """A queued or running run with the facts of its task the runner places and reports it by."""

    run: Run
    task_name: str
    kind: TaskKind
    priority: int = 0
    gpu_count: int = 0  # how many GPUs the task asks for
    gpu_memory: int = 0  # MiB of a shared GPU it asks for instead (packing)

    @property
    def key(self) -> tuple[str, int]:
        return self.run.key


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    """An Apprise URL told when a run ends (``services/notifications.py``): ``url`` in full, secrets and
    all (never in a reply, a log line or a ``repr``), and ``shown``, the same with its secrets masked."""

    url: str = field(repr=False)
    shown: str


@dataclass(frozen=True, slots=True)
class Task:
    """One unit of work of a kind, and the facts of its latest run (``run_index``; 0: never run)."""

    id: str
    name: str
    kind: TaskKind
    owner: str
    status: TaskState
    path: str  # the task folder, relative to the workspace (tasks/<id>)
    created_at: float
    updated_at: float
    priority: int = 0
    gpu_count: int = 0  # how many GPUs a run asks for
    gpu_memory: int = 0  # MiB of one GPU it asks for instead, sharing the GPU with others (packing)
    project_id: str | None = None
    parent_id: str | None = None  # a child job's training run
    session_id: str | None = None  # the client session that made it
    workspace: str = ""  # the script workspace (pyruns's run root) a script task belongs to
    script_path: str = ""  # a script task's script, a notebook job's notebook (relative to the server root)
    command: str = ""
    kernel: str = ""  # a notebook job's kernel ("": the notebook's own kernelspec)
    config: JSONObject = field(default_factory=dict)
    params: JSONObject = field(default_factory=dict)
    env: Mapping[str, Any] = field(default_factory=dict)
    notes: str = ""
    pinned: bool = False
    notify: tuple[NotifyTarget, ...] = ()  # the task's own run-end notifications (besides the server's)
    max_retries: int = 0  # a run that ends in a ``retry_on`` way is run again, this many times at most
    retry_on: tuple[str, ...] = ("failed", "interrupted")  # of RETRY_REASONS
    run_index: int = 0  # the latest run
    # the latest run's facts (None/empty before the first run)
    exit_code: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    gpu_ids: tuple[int, ...] = ()
    pid: int | None = None
    message: str | None = None  # None before the first run

    @property
    def failure_reason(self) -> str | None:
        """Why the latest run failed or was interrupted; ``None`` when it did not. Never empty."""
        if not TaskState(self.status).failed:
            return None
        return self.message or "ended without a reason"


@dataclass(frozen=True, slots=True)
class TaskBrief:
    """A task's id and kind, with its config where the query reads it (checks, child jobs)."""

    id: str
    kind: TaskKind
    name: str = ""
    command: str = ""
    config: JSONObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Dataset:
    id: str
    owner: str
    name: str
    dataset_type: str  # a ProjectType name
    status: DatasetState
    path: str
    created_at: float
    updated_at: float
    description: str = ""
    message: str = ""
    source_path: str = ""
    attrs: JSONObject = field(default_factory=dict)  # import and split facts (counts, labels, split)


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    owner: str
    name: str
    project_type: str  # a ProjectType name
    path: str
    created_at: float
    description: str = ""
    dataset_id: str | None = None
    attrs: JSONObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A saved epoch (``training``) or the best model (``sampler``) of a training run's run."""

    id: str
    task_id: str
    run_index: int
    kind: CheckpointKind
    path: str  # relative to the workspace
    created_at: float
    epoch: int | None = None
    size_bytes: int = 0
    metrics: JSONObject = field(default_factory=dict)

    @property
    def trio_path(self) -> str:
        """Its address: ``trio://<run>/weights/<id>`` (training) or ``.../sampler_weights/<id>``."""
        segment = "weights" if self.kind == CheckpointKind.TRAINING else "sampler_weights"
        return f"trio://{self.task_id}/{segment}/{self.id}"

    @property
    def tinker_path(self) -> str:
        """The same address under Tinker's scheme, as the official SDK parses it."""
        return "tinker://" + self.trio_path.removeprefix("trio://")


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights a user keeps: pretrained (copied from a run) or an exported inference model."""

    id: str
    owner: str
    kind: WeightsKind
    name: str
    status: WeightsState
    path: str
    created_at: float
    description: str = ""
    task_id: str | None = None
    model_type: str = ""
    attrs: JSONObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Session:
    """A client (one ``ServiceClient``, usually one kernel) and what it made."""

    id: str
    owner: str
    created_at: float
    last_request_at: float
    kernel_id: str = ""
    notebook_path: str = ""
    attrs: JSONObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sampler:
    """A checkpoint loaded for prediction in a process of its own."""

    id: str
    owner: str
    source_path: str
    status: SamplerState
    created_at: float
    session_id: str | None = None
    task_id: str | None = None
    attrs: JSONObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScriptWorkspace:
    """A script workspace (pyruns's run root): one Python script under the server's root folder and the
    config template its batches start from; ``_shell_`` holds shell tasks. Not the store's workspace
    (the folder with ``trio.db``), and not PaddleX's ``/workspace`` route."""

    name: str  # its folder under <workspace>/scripts/ ('' when none is open)
    kind: str  # script | shell | none
    run_root: str = ""  # that folder, absolute
    script_path: str = ""  # the script, absolute ('' for the shell workspace)
    script_relpath: str = ""  # the script, relative to the server's root folder
    ready: bool = False  # the script still exists (always for the shell workspace)
    config_default: JSONObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WeightsFacts:
    """What a checkpoint folder holds (its ``state.json``): the answer to Tinker's ``get_weights_info``."""

    path: str
    base_model: str
    task_type: str
    checkpoint_type: str
    training_run_id: str | None
    checkpoint_id: str | None
    epoch: int | None
    labels: list[str]
    num_parameters: int | None
    metrics: JSONObject
    size_bytes: int
    time: float | None


@dataclass(frozen=True, slots=True)
class Objective:
    """What a sweep optimises: a tracked series of each trial, in a direction; a trial's value is the
    series' last reported value, or its best."""

    metric: str
    direction: str = "minimize"  # minimize | maximize
    value: str = "last"  # last | best

    def best(self, trials: Iterable[SweepTrial]) -> SweepTrial | None:
        """The complete trial with the best value in this direction; ``None`` before one completed."""
        done = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
        if not done:
            return None
        pick = min if self.direction == "minimize" else max
        return pick(done, key=lambda t: t.value)


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """A sweep's search: the space (YAML text or a mapping, see ``services/sweep_space.py``), the objective,
    the budget, Optuna's sampler and pruner, and what each trial runs: a script, or a training run of a
    project (PaddleX's training parameters: learning_rate, batch_size, num_epochs, model...)."""

    space: str | JSONObject  # as the user wrote it: YAML text or a mapping
    objective: Objective
    script_path: str = ""  # a script trial: the script, relative to the server's root folder
    project_id: str = ""  # a training trial: a train task of this project, its params from the space
    n_trials: int = 20
    parallel: int = 1  # trials at once
    gpus: int = 0  # GPUs per trial
    timeout_s: float | None = None  # ask for no trial after this long
    sampler: str = "tpe"  # tpe | random | grid | cmaes | gp
    pruner: str = "median"  # median | asha | hyperband | none
    seed: int | None = None
    stop_after_failures: int = 5  # the first N trials all failed: the sweep stops itself


@dataclass(frozen=True, slots=True)
class Sweep:
    """An adaptive search run as trials that are ordinary tasks; its study lives in Optuna's storage."""

    id: str
    name: str
    owner: str
    state: SweepState
    spec: SweepSpec
    study_name: str
    created_at: float
    updated_at: float
    message: str = ""  # why it stopped or failed


@dataclass(frozen=True, slots=True)
class SweepTrial:
    """One trial of a sweep: Optuna's trial ``number`` and the task that runs it."""

    sweep_id: str
    number: int
    task_id: str
    state: TrialState
    value: float | None = None
    params: JSONObject = field(default_factory=dict)
    prune_requested: bool = False  # the pruner said stop; the task is being cancelled


# Series whose name says smaller is better; every other series is best at its largest. A sweep's objective
# states its direction itself.
_SMALLER_IS_BETTER = ("loss", "err", "error", "mse", "mae", "rmse", "perplexity", "ppl", "cer", "wer", "fid")


def series_direction(name: str) -> str:
    """``minimize`` for a series named like a loss or an error (``val_loss``, ``top1_err``, ``wer``),
    ``maximize`` otherwise: which end of a series its ``best`` aggregate takes."""
    words = name.lower().replace("-", "_").replace("/", "_").replace(".", "_").split("_")
    return "minimize" if any(w in _SMALLER_IS_BETTER or w.endswith("loss") for w in words) else "maximize"


@dataclass(frozen=True, slots=True)
class SeriesSummary:
    """A tracked series of one run, summarised as its points arrive (``store/run_series.py``): the run
    table's ``<series>.last|min|max|best`` without reading the points again. ``last`` is the value of the
    point with the greatest step (the latest written among equal steps); min and max skip NaN."""

    series: str
    count: int
    last: float | None
    last_step: int | None
    min: float | None
    max: float | None

    @property
    def best(self) -> float | None:
        return self.min if series_direction(self.series) == "minimize" else self.max


@dataclass(frozen=True, slots=True)
class GitState:
    """The repository a run's code lives in, as it was at launch: ``diff`` is ``git diff HEAD`` (tracked
    files, capped; ``diff_truncated`` says so), untracked files are named, not copied."""

    root: str
    commit: str
    branch: str
    dirty: bool
    diff: str = ""
    diff_truncated: bool = False
    untracked: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Provenance:
    """What ran, captured when a run starts: the code's git state, the job's Python and its installed
    packages (name -> version), the host, and the GPUs it was given (with the NVIDIA driver)."""

    captured_at: float
    python: str  # "3.11.7"
    executable: str
    packages: Mapping[str, str]
    host: str
    platform: str
    git: GitState | None = None
    gpus: tuple[str, ...] = ()  # the names of the GPUs the run holds
    driver: str = ""  # the NVIDIA driver's version, where there is one


@dataclass(frozen=True, slots=True)
class Schedule:
    """A cron expression in a time zone that fires runs of a task (or new tasks from its definition)."""

    id: str
    owner: str
    task_id: str
    cron: str  # croniter's form: 5 fields, or 6 with seconds last
    timezone: str  # an IANA name (zoneinfo)
    overlap: ScheduleOverlap
    catchup: ScheduleCatchup
    mode: ScheduleMode
    paused: bool
    next_fire: float | None  # epoch seconds; None while paused
    created_at: float
    updated_at: float
    last_fire: float | None = None  # the fire time (not the wall clock) it last acted on
    fires: int = 0  # runs it started
    pending: int = 0  # fires waiting for the task's running run to end (overlap "queue")
    skipped: int = 0  # fires it skipped (overlap, catch-up)
    last_task_id: str = ""  # the task of its latest run (mode new_task: the task it made)
    message: str = ""  # what its latest fire did, or why it could not


@dataclass(frozen=True, slots=True)
class NotebookParameter:
    """A parameter of a notebook: a name assigned in its cell tagged ``parameters`` (papermill's reading)."""

    name: str
    type: str  # papermill's inferred type name ("float", "str"... or "None" when it cannot tell)
    default: str  # the assigned value's source text
    help: str = ""  # the comment after it


@dataclass(frozen=True, slots=True)
class NotebookInfo:
    """What a notebook job would run: the notebook, its kernel and the parameters it declares."""

    notebook: str  # relative to the server root
    kernel: str  # the kernelspec's name in the notebook's metadata ("" when it has none)
    kernel_display_name: str
    parameters: tuple[NotebookParameter, ...]
    cells: int  # code cells
    has_parameters_cell: bool


@dataclass(frozen=True, slots=True)
class JobOutput:
    """A file a run left in its output folder (a notebook job: the executed notebook, its HTML, files)."""

    name: str  # relative to the output folder
    path: str  # relative to the workspace (the files API serves it)
    size: int
    kind: str  # "notebook" | "html" | "file"


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One version of a registered model: what it was made from (a checkpoint of a run, or kept weights:
    a pretrained copy or an export) and so its lineage back to the run."""

    name: str
    version: int
    owner: str
    source: str  # as given: trio://<run>/weights/<id>, tinker://..., or a kept model's id (PM0001, EM0001)
    created_at: float
    weights_id: str | None = None
    task_id: str | None = None  # the training run
    run_index: int | None = None
    checkpoint: str = ""  # the checkpoint's id (epoch_3, best_model)
    epoch: int | None = None
    export_path: str = ""  # an exported model's folder, relative to the workspace
    description: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A named model of the registry: its versions are numbered from 1; aliases name one version each."""

    name: str
    owner: str
    created_at: float
    updated_at: float
    description: str = ""
    latest_version: int = 0
    aliases: Mapping[str, int] = field(default_factory=dict)

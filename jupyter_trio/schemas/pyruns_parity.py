"""Wire types of the pyruns routes of the native API that pyruns 0.3.17's web server has and the rest of
``native.py`` lacks: a run's input, input diffs and run comparisons, batch actions, the manual order, the
log download and the system routes. Field names are pyruns's (``pyruns/web/app.py`` and what its runtime
returns); times are epoch seconds, as everywhere in the native API (pyruns sends text)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field

from ..domain import Task
from .mapping import from_entity
from .native import Request, TaskInfo

if TYPE_CHECKING:  # what the services return; the wire types do not need them to exist
    from ..services.run_compare import InputDiff, RunComparison, RunInput, RunSide, ValueRow
    from ..services.system_info import GPUUse, SystemInfo, SystemMetrics

MAX_RUN_INDEX = 2**31 - 1
MAX_BATCH_ITEMS = 10_000  # pyruns's MAX_TASK_BATCH_ITEMS
MAX_WORKERS = 32  # pyruns's MAX_UI_WORKERS
TaskName = Annotated[str, Field(max_length=255)]


# ---- a run, and two runs
class RunIndexPath(Request):
    run_index: int = Field(ge=1, le=MAX_RUN_INDEX, description="run slot: 1, 2, ...")


class RunDiffQuery(Request):
    other_run: int = Field(ge=1, le=MAX_RUN_INDEX, description="the run to compare with (the left side)")


class RunCompareQuery(RunDiffQuery):
    other_task: str | None = Field(
        None, min_length=1, max_length=255, description="the other run's task (default: the same task)"
    )


class RunInputModel(BaseModel):
    """What a run ran with. ``launch_argv`` and ``workdir`` are the run's own; ``payload_text`` (the frozen
    config.yaml or command.sh) and ``environment`` (the task's variables) are the task's now."""

    schema_version: int = 1
    run_index: int
    task_kind: str
    payload_file: str = Field(description="config.yaml (script, notebook, training tasks) or command.sh")
    payload_text: str
    script: str | None = Field(description="a script task's script, relative to the server's root")
    command: str | None = Field(description="a shell task's command")
    workdir: str | None = Field(description="where the job started; null where not recorded")
    shell_executable: str | None
    environment: dict[str, str] = Field(description="the task's own environment variables")
    launch_argv: list[str] | None = Field(description="what the job's supervisor started")

    @classmethod
    def of(cls, run_input: RunInput) -> RunInputModel:
        return from_entity(
            cls,
            run_input,
            environment=dict(run_input.environment),
            launch_argv=list(run_input.launch_argv) if run_input.launch_argv is not None else None,
        )


class RunInputReply(BaseModel):
    schema_version: int = 1
    task_name: str
    run_index: int
    input: RunInputModel | None = Field(description="null for a run that never started")


class InputSideModel(BaseModel):
    reference: str = Field(description="<task>@<run>")
    available: bool = Field(description="whether this run's input is known (it started)")


class InputDiffReply(BaseModel):
    schema_version: int = 1
    left: InputSideModel
    right: InputSideModel
    available: bool = Field(description="both inputs are known")
    equal: bool | None = Field(description="null when one input is not known")
    changed_fields: list[str]
    diff: str = Field(description="unified diff, left → right")
    truncated: bool = Field(description="the diff was cut (256 KiB or 4000 lines)")

    @classmethod
    def of(cls, diff: InputDiff) -> InputDiffReply:
        return from_entity(
            cls,
            diff,
            left=InputSideModel(reference=diff.left.reference, available=diff.left.available),
            right=InputSideModel(reference=diff.right.reference, available=diff.right.available),
            changed_fields=list(diff.changed_fields),
        )


class RunEnvironmentModel(BaseModel):
    executor: str = Field(description="what started the run: 'local' or 'ray'")
    gpus: list[int] = Field(description="the GPUs the run held")
    created_by: str = Field(description="who queued it")


class RunSideModel(BaseModel):
    task_name: str
    run_index: int
    reference: str
    status: str
    start_time: float | None
    finish_time: float | None
    duration_seconds: float | None
    exit_code: int | None
    source_state: str | None = Field(description="always null: the source tree of a run is not recorded")
    environment: RunEnvironmentModel
    record: dict[str, Any] | None = Field(description="what the run record()ed, merged; null if nothing")
    input_available: bool

    @classmethod
    def of(cls, side: RunSide) -> RunSideModel:
        env = side.environment
        return from_entity(
            cls,
            side,
            environment=RunEnvironmentModel(
                executor=env.executor, gpus=list(env.gpus), created_by=env.created_by
            ),
        )


class ValueRowModel(BaseModel):
    key: str
    left: str = Field(description="the left value as JSON text, or 'Not recorded'")
    right: str = Field(description="the right value as JSON text, or 'Not recorded'")
    changed: bool
    delta: str | None = Field(description="right - left where both are numbers")

    @classmethod
    def of(cls, row: ValueRow) -> ValueRowModel:
        return from_entity(cls, row)


class RunComparisonReply(BaseModel):
    schema_version: int = 1
    left: RunSideModel = Field(description="run other_run of other_task (default the same task)")
    right: RunSideModel = Field(description="the run of the path")
    metric_rows: list[ValueRowModel] = Field(
        description="each run's record, and the final value of each series it tracked"
    )
    param_rows: list[ValueRowModel] = Field(description="the two tasks' configs, one row per dotted key")
    input_diff: InputDiffReply
    provenance_rows: list[ValueRowModel] = Field(
        default_factory=list,
        description="what each run ran (git.commit, git.dirty, git.diff, python, host, gpus...) and the "
        "packages whose versions differ (packages.<name>); empty for runs without provenance",
    )

    @classmethod
    def of(cls, comparison: RunComparison) -> RunComparisonReply:
        return cls(
            left=RunSideModel.of(comparison.left),
            right=RunSideModel.of(comparison.right),
            metric_rows=[ValueRowModel.of(r) for r in comparison.metric_rows],
            param_rows=[ValueRowModel.of(r) for r in comparison.param_rows],
            input_diff=InputDiffReply.of(comparison.input_diff),
            provenance_rows=[ValueRowModel.of(r) for r in comparison.provenance_rows],
        )


# ---- batch actions and the order
class TaskBatchActionRequest(Request):
    task_names: list[TaskName] = Field(default_factory=list, max_length=MAX_BATCH_ITEMS)
    max_workers: int | None = Field(
        None, ge=1, le=MAX_WORKERS, description="how many jobs without GPUs run at once from now on"
    )


class TaskBatchDeleteRequest(Request):
    task_names: list[TaskName] = Field(default_factory=list, max_length=MAX_BATCH_ITEMS)


class TaskBatchRunReply(BaseModel):
    count: int
    items: list[TaskInfo] = Field(description="the tasks whose new run was queued")
    skipped: list[str] = Field(description="tasks that could not run now (already queued or running...)")

    @classmethod
    def of(cls, items: list[Task], skipped: list[str]) -> TaskBatchRunReply:
        return cls(count=len(items), items=[TaskInfo.of(t) for t in items], skipped=skipped)


class TaskBatchDeleteReply(BaseModel):
    count: int
    deleted: list[str]


class TaskReorderItem(Request):
    name: str = Field(min_length=1, max_length=200)
    pinned: bool | None = Field(None, description="pin or unpin it too; omitted: unchanged")


class TaskReorderRequest(Request):
    items: list[TaskReorderItem] = Field(default_factory=list, max_length=MAX_BATCH_ITEMS)


class TaskReorderReply(BaseModel):
    count: int
    items: list[TaskInfo] = Field(description="the listed tasks in their new order, with their priorities")


# ---- logs
class LogDownloadQuery(Request):
    log_file_name: str | None = Field(
        None, max_length=255, description="pyruns's name of a run's log: run<N>.log (run N's combined log)"
    )
    log_identity: str | None = Field(
        None,
        max_length=512,
        description="409 unless the log is still this file (a reply's X-Pyruns-Log-Identity)",
    )
    run: int | None = Field(None, ge=1, le=MAX_RUN_INDEX, description="run slot; default the latest")
    stream: Literal["output", "stdout", "stderr"] = "output"


# ---- the machine
class SystemInfoReply(BaseModel):
    version: str = Field(description="the jupyter-trio version running")
    installed_version: str = Field(description="the version installed (differs after an upgrade)")
    restart_required: bool = Field(description="the server runs another version than the one installed")
    instance_id: str = Field(description="changes when the server restarts")
    update_supported: bool = Field(description="always false: upgrade the package with pip or conda")
    update_state: str
    last_update: None = None
    python: str
    platform: str
    cpu_count: int

    @classmethod
    def of(cls, info: SystemInfo) -> SystemInfoReply:
        return from_entity(cls, info)


class SystemMetricsQuery(Request):
    include_processes: bool = Field(False, description="list the processes on each GPU")
    detail: bool = Field(False, description="add each GPU's free memory and temperature")


class GPUProcessModel(BaseModel):
    pid: int
    name: str = Field(description="'' unless it is this server's user's process")
    user: str = Field(description="'another user' unless it is this server's user")
    memory_mb: float | None


class GPUUseModel(BaseModel):
    id: int = Field(description="the GPU's index (pyruns sends both)")
    index: int
    name: str
    uuid: str
    util: float | None = Field(description="utilisation, %")
    mem_used: float | None = Field(description="MiB")
    mem_total: float | None = Field(description="MiB")
    mem_free: float | None = Field(description="MiB (detail)")
    temperature_c: float | None = Field(description="°C (detail)")
    processes: list[GPUProcessModel]

    @classmethod
    def of(cls, gpu: GPUUse) -> GPUUseModel:
        return from_entity(
            cls,
            gpu,
            id=gpu.index,
            processes=[from_entity(GPUProcessModel, p) for p in gpu.processes],
        )


class SystemMetricsReply(BaseModel):
    cpu_percent: float
    mem_percent: float
    disk_percent: float = Field(description="use of the filesystem holding the workspace, %")
    disk_used: int = Field(description="bytes")
    disk_total: int = Field(description="bytes")
    gpus: list[GPUUseModel]

    @classmethod
    def of(cls, metrics: SystemMetrics) -> SystemMetricsReply:
        return from_entity(cls, metrics, gpus=[GPUUseModel.of(g) for g in metrics.gpus])

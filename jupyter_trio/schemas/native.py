"""Pydantic request/response models of the native API (``/trio/api``).

One small model per wire type. The OpenAPI document is generated from these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..domain import (
    Dataset,
    GeneratedBatch,
    GeneratedTask,
    Project,
    Provenance,
    Run,
    ScriptWorkspace,
    Task,
    Weights,
)
from ..vocabulary import (
    DATASET_STATES,
    DATASET_TYPES,
    DEMO_STATES,
    TASK_STATES,
    WEIGHTS_STATES,
)
from .mapping import from_entity


class GPUInfo(BaseModel):
    index: int
    name: str = ""
    uuid: str = ""
    memory_total: int = Field(0, description="bytes; 0 when unknown")


class TrainingAvailability(BaseModel):
    available: bool = Field(description="whether train/evaluate/predict/export jobs can run")
    python: str = Field(description="the Python that runs trainer jobs (c.TrioApp.python_executable)")
    paddle_version: str | None = None
    reason: str = Field("", description="why not, when not available")


class Identity(BaseModel):
    """Who the server takes the caller for. On JupyterHub: the Hub user, their groups and admin flag, and
    the scopes the caller's token holds on this server."""

    name: str
    hub: bool = Field(description="true when JupyterHub vouches for the user (the server runs under a Hub)")
    admin: bool = False
    groups: list[str] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=list)


class UnleasedUse(BaseModel):
    """A process NVML lists on a GPU that was not given to its user (or, on a server, to its jobs)."""

    pid: int
    user: str = Field("", description="its OS user ('another user' unless the admin shows names)")
    memory_used: int | None = Field(None, description="bytes of the GPU's memory it uses, where NVML says")


class GPUState(BaseModel):
    index: int
    state: Literal["yours", "free", "other"] = Field(
        description="held by this server's jobs, free, or held by another user (leases of the Hub arbiter)"
    )
    user: str | None = Field(None, description="who holds it ('another user' unless the admin shows names)")
    unleased: list[UnleasedUse] = Field(
        default_factory=list,
        description="processes using this GPU without its lease, as the Hub arbiter saw them in NVML's list "
        "(leases are advisory: only containers enforce them)",
    )


class HealthReply(BaseModel):
    status: str = Field("ok", description="always 'ok' when the server answers")
    version: str
    user: str
    identity: Identity
    workspace: str = Field(description="absolute path of the workspace folder")
    schema_version: int
    gpus: list[GPUInfo]
    gpu_source: str = Field(
        description="'local' (this machine's GPUs) or 'hub' (leased from the Hub arbiter)"
    )
    gpu_states: list[GPUState]
    executor: str = Field(description="where jobs run: 'local' (this machine) or 'ray' (a Ray cluster)")
    executor_state: dict[str, Any] = Field(
        description="the executor's own view: for Ray, its address, whether it answers, and its free and "
        "total CPUs and GPUs"
    )
    max_cpu_jobs: int
    training: TrainingAvailability


class FileEntry(BaseModel):
    name: str
    path: str = Field(description="path relative to the workspace")
    is_dir: bool
    size: int
    modified: float


class DirectoryListing(BaseModel):
    path: str
    entries: list[FileEntry]


class FileWritten(BaseModel):
    path: str
    size: int


# offsets and pages beyond this are refused (422) rather than overflowing SQLite's 64-bit integers
MAX_OFFSET = 2**53


# ---- requests share one rule: unknown fields are a client error, not silently ignored
class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- script workspaces and the launcher (pyruns dialect)
class WorkspaceInfo(BaseModel):
    run_root: str = Field(description="folder of the open script workspace ('' when none is open)")
    script_name: str
    script_path: str = Field(description="absolute path of the script ('' for the shell workspace)")
    script_relpath: str = ""
    workspace_kind: Literal["script", "shell", "none"]
    workspace_ready: bool
    config_default: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, ws: ScriptWorkspace) -> WorkspaceInfo:
        return from_entity(
            cls,
            ws,
            script_name=ws.name,
            workspace_kind=ws.kind,
            workspace_ready=ws.ready,
        )


class WorkspaceList(BaseModel):
    items: list[WorkspaceInfo]


class RunRootRequest(Request):
    script_path: str = Field(description="Python script, relative to the server's root folder")
    config_path: str | None = Field(None, description="YAML config to use as the default template")


class PathList(BaseModel):
    items: list[str] = Field(description="paths relative to the server's root folder")


class OpenWorkspaceRequest(Request):
    script_name: str


class PickScriptRequest(Request):
    script_path: str


class PickScriptReply(BaseModel):
    script_path: str
    script_relpath: str
    script_name: str
    configs: list[str]
    workspace_exists: bool


# ---- generator
class GeneratorBody(Request):
    name_prefix: str = "task"
    mode: Literal["form", "yaml", "shell"] = "form"
    yaml_text: str = ""
    shell_text: str = ""
    template_value: dict[str, Any] | None = Field(
        None, description="config template; string values may hold batch syntax (a | b, (a | b), 1:10:2)"
    )
    append_timestamp: bool = False
    run: bool = Field(False, description="queue every created task at once")
    priority: int = 0
    gpus: int = Field(0, ge=0, description="GPUs each task asks for; 0 = CPU only")
    gpu_memory: int = Field(
        0, ge=0, description="MiB of one GPU each task asks for instead, sharing it with other such tasks"
    )
    notify: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Apprise URLs (json://host/path, mailto://..., slack://..., msteams://...) told when a "
        "run of each task ends, besides the server's notify_urls; an unknown scheme is a 422",
    )
    max_retries: int = Field(
        0, ge=0, le=20, description="a run ending in a retry_on way runs again, so often"
    )
    retry_on: list[Literal["failed", "interrupted", "lost_lease"]] = Field(
        default_factory=lambda: ["failed", "interrupted"],
        description="what ends a run in a retry: failed (a non-zero exit), interrupted (its supervisor "
        "lost), lost_lease (its GPU lease was taken back)",
    )


class GeneratorReply(BaseModel):
    count: int
    task_kind: Literal["script", "shell"]
    items: list[dict[str, Any]]

    @staticmethod
    def wire(batch: GeneratedBatch) -> dict[str, Any]:
        """The reply as plain JSON data, built without validation: a batch may hold 100,000 items. Each
        item is ``{name, config}`` (script tasks) or ``{name, command}`` (shell), with ``id`` once made."""

        def item(task: GeneratedTask) -> dict[str, Any]:
            out: dict[str, Any] = {"name": task.name}
            if task.command is not None:
                out["command"] = task.command
            else:
                out["config"] = task.config
            if task.id is not None:
                out["id"] = task.id
            return out

        return {"count": batch.count, "task_kind": batch.task_kind, "items": [item(t) for t in batch.items]}


# ---- tasks
TaskStatus = Literal[TASK_STATES]  # type: ignore[valid-type]


class GitInfo(BaseModel):
    root: str = Field(description="the repository's folder")
    commit: str
    branch: str = Field(description="empty on a detached HEAD")
    dirty: bool = Field(description="uncommitted changes or untracked files")
    diff: str = Field(description="git diff HEAD at launch (tracked files), capped at 1 MiB")
    diff_truncated: bool
    untracked: list[str] = Field(description="untracked files, named (not copied)")


class ProvenanceInfo(BaseModel):
    captured_at: float
    python: str = Field(description="the job's Python version")
    executable: str
    packages: dict[str, str] = Field(description="installed distributions: name -> version")
    host: str
    platform: str
    git: GitInfo | None = Field(description="the code's repository; null outside one (or for trainers)")
    gpus: list[str] = Field(description="the names of the GPUs the run held")
    driver: str = Field(description="the NVIDIA driver's version, where there is one")

    @classmethod
    def of(cls, provenance: Provenance) -> ProvenanceInfo:
        git = provenance.git
        return cls.model_construct(
            captured_at=provenance.captured_at,
            python=provenance.python,
            executable=provenance.executable,
            packages=dict(provenance.packages),
            host=provenance.host,
            platform=provenance.platform,
            git=from_entity(GitInfo, git, untracked=list(git.untracked)) if git is not None else None,
            gpus=list(provenance.gpus),
            driver=provenance.driver,
        )


class RunInfo(BaseModel):
    run_index: int
    status: str
    exit_code: int | None = None
    pid: int | None = None
    gpus: list[int] = Field(default_factory=list)
    queued_at: float
    started_at: float | None = None
    ended_at: float | None = None
    message: str = ""
    created_by: str = Field("", description="who queued this run (on a shared server, maybe a guest)")
    retry_of: int | None = Field(None, description="the run this one retries (its index), if it is a retry")
    not_before: float | None = Field(None, description="a queued retry starts no sooner (its back-off)")
    provenance: ProvenanceInfo | None = Field(
        None, description="what ran: git state, Python and packages, host, GPUs (captured at start)"
    )

    @classmethod
    def of(cls, run: Run, provenance: Provenance | None = None) -> RunInfo:
        return from_entity(
            cls, run, gpus=list(run.gpu_ids), provenance=ProvenanceInfo.of(provenance) if provenance else None
        )


class TaskInfo(BaseModel):
    id: str
    name: str
    kind: str
    status: TaskStatus
    workspace: str = ""
    script_path: str = Field("", description="a script task's script, a notebook job's notebook")
    command: str = ""
    kernel: str = Field("", description="a notebook job's kernel ('': the notebook's own kernelspec)")
    config: dict[str, Any] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    notes: str = ""
    pinned: bool = False
    notify: list[str] = Field(
        default_factory=list,
        description="the Apprise URLs told when a run of the task ends, their secrets masked",
    )
    max_retries: int = Field(0, description="how often a run ending in a retry_on way is run again")
    retry_on: list[str] = Field(default_factory=list, description="failed, interrupted, lost_lease")
    priority: int = 0
    gpus: int = Field(0, description="GPUs requested")
    gpu_memory: int = Field(0, description="MiB of a shared GPU requested instead of whole GPUs (packing)")
    run_index: int = Field(description="latest run slot (0: never run)")
    exit_code: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    assigned_gpus: list[int] = Field(default_factory=list)
    pid: int | None = Field(None, description="process group of the latest run (its supervisor's pid)")
    message: str | None = None
    error: str | None = Field(
        None,
        description="why the latest run failed or was interrupted (the "
        "exception's last line, or the signal); null otherwise",
    )
    created_at: float
    updated_at: float
    project_id: str | None = None
    parent_id: str | None = Field(None, description="the training task of a child job (evaluate, export...)")
    owner: str = Field("", description="who created the task (on a shared server, maybe a guest)")

    @classmethod
    def of(cls, task: Task) -> Self:
        """The native wire form of a task: ``gpus`` is its GPU count, ``assigned_gpus`` its latest run's."""
        return from_entity(
            cls,
            task,
            gpus=task.gpu_count,
            assigned_gpus=list(task.gpu_ids),
            notify=[target.shown for target in task.notify],  # never a URL's secrets
            retry_on=list(task.retry_on),
            error=task.failure_reason,
        )


class TaskDetail(TaskInfo):
    runs: list[RunInfo] = Field(default_factory=list)

    @classmethod
    def with_runs(
        cls, task: Task, runs: list[Run], provenance: Mapping[int, Provenance] | None = None
    ) -> TaskDetail:
        out = cls.of(task)
        found = provenance or {}
        out.runs = [RunInfo.of(r, found.get(r.run_index)) for r in runs]
        return out


class TaskListQuery(Request):
    page: int = Field(1, ge=1, le=MAX_OFFSET // 1000)
    page_size: int = Field(50, ge=1, le=1000)
    offset: int | None = Field(None, ge=0, le=MAX_OFFSET, description="overrides page")
    limit: int | None = Field(None, ge=1, le=1000, description="overrides page_size")
    status: TaskStatus | None = None
    kind: str | None = None
    pinned: bool | None = None
    name: str | None = Field(None, description="substring of the task name, any case")
    owner: str | None = Field(None, description="only tasks this user created")
    workspace: str | None = None
    sort: Literal["created_at", "updated_at", "name", "status", "priority", "kind", "last_run"] = "created_at"
    order: Literal["asc", "desc"] = "desc"


class TaskList(BaseModel):
    items: list[TaskInfo]
    total: int
    offset: int
    limit: int
    page: int
    page_size: int


class RunTaskRequest(Request):
    priority: int | None = None
    gpus: int | None = Field(None, ge=0)
    max_retries: int | None = Field(None, ge=0, le=20, description="the task's retry budget from now on")
    retry_on: list[Literal["failed", "interrupted", "lost_lease"]] | None = None


class PinRequest(Request):
    pinned: bool | None = Field(None, description="omit to toggle")


class NotesRequest(Request):
    notes: str = Field(max_length=100_000)


class EnvRequest(Request):
    env: dict[str, str | int | float | bool]


class NotifyRequest(Request):
    urls: list[str] = Field(
        max_length=20,
        description="Apprise URLs told when a run of the task ends (they replace the task's; [] for none)",
    )


class RenameRequest(Request):
    new_name: str


class DeleteQuery(Request):
    force: bool = False


# ---- events
class EventsQuery(Request):
    since: int | None = Field(
        None,
        ge=0,
        le=MAX_OFFSET,
        description="id of the last event received: the events after it are sent first (a reconnect)",
    )


# ---- logs
class LogQuery(Request):
    run: int | None = Field(None, ge=1, description="run slot; default the latest")
    stream: Literal["output", "stdout", "stderr"] = "output"
    offset: int | None = Field(None, ge=0, le=MAX_OFFSET, description="byte offset to read from")
    tail: int | None = Field(
        None,
        ge=0,
        le=100_000,
        description="last N lines instead of an offset (at most 1 MiB of them: the reply's offset says where "
        "they start)",
    )
    limit: int = Field(1 << 20, ge=1, le=1 << 20, description="bytes at most")


class LogReply(BaseModel):
    task_name: str
    run: int
    stream: str
    content: str
    offset: int
    next_offset: int
    size: int
    status: str


class LogSearchQuery(Request):
    q: str = Field(min_length=1, max_length=1000, description="text to find (any case)")
    run: int | None = Field(None, ge=1, description="run slot; default the latest")
    stream: Literal["output", "stdout", "stderr"] = "output"
    offset: int = Field(
        0, ge=0, le=MAX_OFFSET, description="byte offset to search from (a reply's next_offset)"
    )
    max_matches: int = Field(100, ge=1, le=10_000)


class LogMatch(BaseModel):
    offset: int = Field(description="byte offset of the line in the log (read it with ?offset=)")
    line: str


class LogSearchReply(BaseModel):
    task_name: str
    run: int
    stream: str
    matches: list[LogMatch]
    next_offset: int = Field(description="where to search on; equal to size once the whole log is searched")
    size: int


# ---- metrics and records of a run (written in the job by jupyter_trio.track / record)
class RunQuery(Request):
    run: int | None = Field(None, ge=1, description="run slot; default the latest")


class SeriesQuery(RunQuery):
    max_points: int | None = Field(
        None,
        ge=2,
        le=1_000_000,
        description="downsample to at most this many points (min and max of each bucket kept)",
    )
    since_step: int | None = Field(None, description="only points with a larger step (live polling)")
    from_step: int | None = Field(None, description="only points at this step or later (a zoomed chart)")
    to_step: int | None = Field(None, description="only points at this step or earlier (a zoomed chart)")


class MetricsIndex(BaseModel):
    task_name: str
    run: int
    series: dict[str, int] = Field(description="series name → number of points")


class SeriesReply(BaseModel):
    task_name: str
    run: int
    key: str
    steps: list[int]
    values: list[float | None] = Field(description="null where the value was NaN or infinite")
    times: list[float]
    last_step: int | None


class RecordsReply(BaseModel):
    task_name: str
    run: int
    record: dict[str, Any]


# ---- datasets, projects and demos (the native twin of the PaddleX dialect)
DatasetType = Literal[DATASET_TYPES]  # type: ignore[valid-type]


class DatasetInfo(BaseModel):
    id: str
    name: str
    owner: str = Field("", description="who created the dataset")
    description: str
    dataset_type: DatasetType
    status: Literal[DATASET_STATES] = Field(  # type: ignore[valid-type]
        description="empty → checking → copying → imported → split, or check_failed / copy_failed"
    )
    message: str = ""
    path: str = Field(description="folder relative to the workspace")
    project_ids: list[str] = Field(default_factory=list)
    num_images: int | None = None
    num_classes: int | None = None
    format: str | None = Field(
        None, description="the imported folder's format (imagenet, paddlex_list, voc, coco, masks)"
    )
    created_at: float
    updated_at: float

    @classmethod
    def of(cls, dataset: Dataset, project_ids: list[str]) -> DatasetInfo:
        """A dataset with the projects bound to it; its import facts come from its ``attrs``."""
        attrs = dataset.attrs
        return from_entity(
            cls,
            dataset,
            project_ids=project_ids,
            num_images=attrs.get("num_images"),
            num_classes=attrs.get("num_classes"),
            format=attrs.get("format"),
        )


class DatasetList(BaseModel):
    items: list[DatasetInfo]


class DatasetCreate(Request):
    name: str = Field(min_length=1)
    description: str = ""
    dataset_type: DatasetType


class DatasetPatch(Request):
    name: str | None = Field(None, min_length=1)
    description: str | None = None


class DatasetImportRequest(Request):
    path: str = Field(min_length=1, description="a folder under the server's root directory")


class DatasetSplitRequest(Request):
    val_split: float = Field(0.2, ge=0, lt=1)
    test_split: float = Field(0.1, ge=0, lt=1)
    seed: int = 0


class DatasetDetails(BaseModel):
    file_info: dict[str, str] = Field(description="image → annotation file (classification: its label)")
    label_info: dict[str, list[str]] = Field(description="class → images containing it")
    labels: list[str]
    train_files: list[str]
    val_files: list[str]
    test_files: list[str]
    class_train_file_list: dict[str, list[str]]
    class_val_file_list: dict[str, list[str]]
    class_test_file_list: dict[str, list[str]]


class ProjectInfo(BaseModel):
    id: str
    name: str
    description: str
    project_type: DatasetType
    dataset_id: str | None = None
    path: str
    task_ids: list[str] = Field(default_factory=list)
    created_at: float

    @classmethod
    def of(cls, project: Project, task_ids: list[str]) -> ProjectInfo:
        return from_entity(cls, project, task_ids=task_ids)


class ProjectList(BaseModel):
    items: list[ProjectInfo]


class ProjectCreate(Request):
    name: str = Field(min_length=1)
    description: str = ""
    project_type: DatasetType | int = Field(description="a type name, or PaddleX's ProjectType integer")
    dataset_id: str | None = None


class ProjectPatch(Request):
    name: str | None = Field(None, min_length=1)
    description: str | None = None
    dataset_id: str | None = Field(None, description="bind the project to this dataset (same type)")


class DemoInfo(BaseModel):
    type: DatasetType
    status: Literal[("not_started", *DEMO_STATES)] = Field(  # type: ignore[valid-type]
        description="not_started, generating → generated → ready, or failed"
    )
    progress: float
    message: str = ""


class DemoList(BaseModel):
    items: list[DemoInfo]


class DemoLoaded(BaseModel):
    dataset_id: str
    project_id: str
    created: bool = Field(description="false when the demo had been loaded before (the same ids come back)")


# ---- training tasks, their jobs, and kept models (the native twin of PaddleX part 2)
class TrainTaskCreate(Request):
    train: dict[str, Any] | None = Field(
        None, description="training parameters (PaddleX names); omitted: the project's recommended ones"
    )
    description: str = ""
    parent_id: str | None = Field(None, description="a trained task: makes this a prune task of it")


class ParamsReply(BaseModel):
    train: dict[str, Any]


class ParamsUpdate(Request):
    train: dict[str, Any]


class ResumeRequest(Request):
    epoch: int | None = Field(None, description="a saved epoch; default the last one")


class EvaluateRequest(Request):
    epoch: int | None = Field(None, description="a saved epoch; default the best model")
    split: Literal["val", "test"] = "val"
    topk: int = Field(5, ge=1)
    score_thresh: float = Field(0.5, ge=0, le=1)
    overlap_thresh: float = Field(0.5, gt=0, le=1)


class PredictRequest(Request):
    paths: list[str] = Field(min_length=1, description="images or folders, relative to the workspace")
    epoch: int | None = None
    score_thresh: float = Field(0.5, ge=0, le=1)


class ExportRequest(Request):
    save_dir: str = Field(min_length=1, description="a folder inside the workspace")
    type: Literal["infer", "onnx"] = "infer"
    epoch: int | None = None
    quant: bool = Field(
        False,
        description="also write model.int8.onnx: post-training int8 quantization "
        "(onnxruntime), classification and segmentation",
    )


class AnalysisRequest(Request):
    epoch: int | None = None
    ratios: list[float] | None = None
    max_layers: int | None = Field(None, ge=1)


class ModelInfo(BaseModel):
    id: str
    kind: Literal["pretrained", "exported"]
    name: str
    task_id: str | None = None
    model_type: str
    status: Literal[WEIGHTS_STATES] = Field(description="saving, saved or save_failed")  # type: ignore[valid-type]
    path: str
    attrs: dict[str, Any]
    created_at: float

    @classmethod
    def of(cls, weights: Weights) -> ModelInfo:
        return from_entity(cls, weights)


class ModelList(BaseModel):
    items: list[ModelInfo]


class ModelCreate(Request):
    kind: Literal["pretrained", "exported"]
    task_id: str
    name: str = ""
    epoch: int | None = Field(None, description="pretrained: the checkpoint epoch (default the best)")
    source_path: str | None = Field(
        None, description="pretrained: a weights folder instead of the task's checkpoint"
    )
    path: str | None = Field(None, description="exported: the folder an export wrote")


# ---- runs opened from a kernel (jupyter_trio.init)
class NotebookRunOpen(Request):
    name: str | None = Field(None, max_length=128, description="the notebook task's name (made on first use)")
    config: dict[str, Any] = Field(default_factory=dict, description="the config trio.load() reads")
    pid: int = Field(
        ge=1, le=2**31 - 1, description="the kernel's process id: the run is interrupted when it dies"
    )

    @field_validator("config")
    @classmethod
    def _unicode(cls, config: dict[str, Any]) -> dict[str, Any]:
        # the config is written as UTF-8 YAML beside the run; JSON lets lone surrogates ("\ud800") through
        try:
            json.dumps(config, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text in the config must be valid Unicode (no lone surrogates)") from None
        return config


class NotebookRunReply(BaseModel):
    workspace: str
    task_id: str
    name: str
    run_index: int
    task_dir: str = Field(description="the task's folder (the kernel writes its outputs there)")
    run_dir: str = Field(description="the run's folder (tracked points and records go there)")


class NotebookRunFinish(Request):
    run: int = Field(ge=1, le=2**31 - 1)
    status: Literal["completed", "failed", "cancelled"] = "completed"


# ---- "rerun with this code"
class RerunCodeBody(Request):
    run: bool = Field(True, description="queue a run of the new task at once")


class RerunCodeReply(BaseModel):
    task: TaskInfo = Field(
        description="the new script task, running the restored script with the run's config"
    )
    folder: str = Field(description="the restored repository, relative to the server root (reruns/...)")
    commit: str
    applied_diff: bool = Field(description="the run's uncommitted changes were applied on the commit")
    untracked_missing: list[str] = Field(description="files the run had that git did not keep (not restored)")

"""Wire forms of notebook jobs, their outputs and cron schedules (native dialect)."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from .. import domain
from .mapping import from_entity
from .native import Request, TaskInfo


class NotebookJobCreate(Request):
    notebook: str = Field(description="the .ipynb to run, relative to the server root")
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="injected after the cell tagged 'parameters' (papermill): names to JSON values",
    )
    kernel: str = Field("", max_length=200, description="a kernelspec name; empty: the notebook's own")
    name: str | None = Field(None, max_length=128, description="the task's name (default: <notebook>-<time>)")
    gpus: int = Field(0, description="GPUs the run asks for")
    gpu_memory: int = Field(
        0, description="MiB of one GPU shared with other such jobs, instead of whole GPUs"
    )
    priority: int = 0
    env: dict[str, Any] = Field(default_factory=dict, description="environment variables of the job")
    run: bool = Field(True, description="queue a run now (false: only make the task, e.g. to schedule it)")


class NotebookJobCreated(TaskInfo):
    warnings: list[str] = Field(
        default_factory=list,
        description="what papermill would warn about: parameters its parameters cell does not declare",
    )


class NotebookParameterInfo(BaseModel):
    name: str
    type: str = Field(description="papermill's inferred type name ('None' when it cannot tell)")
    default: str = Field(description="the value's source text in the parameters cell")
    help: str = ""


class NotebookParametersQuery(Request):
    notebook: str = Field(description="the .ipynb, relative to the server root")


class NotebookParametersReply(BaseModel):
    notebook: str
    kernel: str = Field(description="the notebook's kernelspec name ('' when it names none)")
    kernel_display_name: str
    parameters: list[NotebookParameterInfo]
    cells: int = Field(description="code cells")
    has_parameters_cell: bool

    @classmethod
    def of(cls, info: domain.NotebookInfo) -> Self:
        return from_entity(
            cls, info, parameters=[from_entity(NotebookParameterInfo, p) for p in info.parameters]
        )


class OutputsQuery(Request):
    run: int | None = Field(None, description="the run (default: the latest)")


class OutputInfo(BaseModel):
    name: str = Field(description="relative to the run's output folder")
    path: str = Field(description="relative to the workspace: GET /trio/api/files/{path} downloads it")
    size: int
    kind: Literal["notebook", "html", "file"]


class OutputsReply(BaseModel):
    task: str
    run: int
    outputs: list[OutputInfo]


class OpenOutputsBody(Request):
    run: int | None = Field(None, description="the run (default: the latest)")


class OpenOutputsReply(BaseModel):
    path: str = Field(description="the executed notebook's copy, relative to the server root (jobs/...)")


# ---- schedules
Overlap = Literal["skip", "queue"]
Catchup = Literal["skip", "once"]
Mode = Literal["rerun", "new_task"]


class ScheduleCreate(Request):
    task: str = Field(description="the task each fire runs (or copies, mode new_task)")
    cron: str = Field(
        max_length=200,
        description="croniter's form: 'minute hour day month weekday', or 6 fields (seconds last)",
    )
    timezone: str = Field("UTC", max_length=64, description="an IANA time zone, e.g. Asia/Shanghai")
    overlap: str = Field("skip", description="skip | queue: a fire while the previous run is still going")
    catchup: str = Field("skip", description="skip | once: fires missed while no server was up")
    mode: str = Field("rerun", description="rerun: a new run of the task; new_task: a new task each fire")
    paused: bool = False


class ScheduleUpdate(Request):
    cron: str | None = Field(None, max_length=200)
    timezone: str | None = Field(None, max_length=64)
    overlap: str | None = None
    catchup: str | None = None
    mode: str | None = None
    paused: bool | None = None


class ScheduleInfo(BaseModel):
    id: str
    task: str = Field(description="the task's name")
    task_id: str
    owner: str
    cron: str
    timezone: str
    overlap: Overlap
    catchup: Catchup
    mode: Mode
    paused: bool
    next_fire: float | None = Field(description="epoch seconds of the next fire (null while paused)")
    last_fire: float | None = Field(None, description="the fire time it last acted on")
    fires: int = Field(description="runs it started")
    skipped: int = Field(description="fires it skipped (overlap, missed while down)")
    pending: int = Field(description="fires waiting for the running run to end (overlap queue)")
    last_task: str = Field("", description="the task of its latest run (mode new_task: the task it made)")
    message: str = Field("", description="what its latest fire did")
    created_at: float
    updated_at: float

    @classmethod
    def of(cls, schedule: domain.Schedule, task: str, last_task: str = "") -> Self:
        return from_entity(cls, schedule, task=task, last_task=last_task)


class ScheduleList(BaseModel):
    schedules: list[ScheduleInfo]


class SchedulePreviewBody(Request):
    cron: str = Field(max_length=200)
    timezone: str = Field("UTC", max_length=64)
    count: int = Field(5, ge=1, le=50)


class SchedulePreviewReply(BaseModel):
    cron: str
    timezone: str
    next: list[float] = Field(description="the next fire times, epoch seconds")

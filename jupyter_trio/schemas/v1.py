"""Wire types of the RestClient dialect (``/trio/api/v1``). Field names follow the public Tinker REST API
(``training_run_id``, ``checkpoint_type``, ``cursor.total_count``...) with ``trio://`` checkpoint paths."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from .. import domain
from ..vocabulary import WEIGHTS_STATES
from .mapping import from_entity
from .native import MAX_OFFSET, Request


def utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


class Cursor(BaseModel):
    offset: int
    limit: int
    total_count: int


class ListQuery(Request):
    limit: int = Field(20, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    access_scope: Literal["owned", "accessible"] = Field(
        "owned",
        description="Tinker's scope; on a Jupyter server you can reach only what you own, so both "
        "list your own",
    )


class TrainingRunsQuery(ListQuery):
    project_id: str | None = Field(None, description="only the runs of this project")


class UserCheckpointsQuery(ListQuery):
    limit: int = Field(100, ge=1, le=1000)


class PageQuery(Request):
    page: int = Field(1, ge=1, le=MAX_OFFSET // 1000)
    page_size: int = Field(20, ge=1, le=1000)


class PathQuery(Request):
    path: str = Field(
        min_length=1,
        description="trio://<run>/weights/<id>, trio://<run>/sampler_weights/<id>, "
        "a kept model id (PM0001) or a checkpoint folder inside the workspace",
    )


class Checkpoint(BaseModel):
    checkpoint_id: str
    checkpoint_type: Literal["training", "sampler"]
    time: datetime
    trio_path: str
    tinker_path: str = Field(
        description="the same checkpoint under Tinker's scheme (tinker://...), which the "
        "official SDK reads; accepted wherever a trio:// path is"
    )
    size_bytes: int | None = None
    public: bool = False
    user_metadata: dict[str, str] | None = None
    expires_at: datetime | None = None
    training_run_id: str
    epoch: int | None = None
    metrics: dict[str, Any] = Field(default_factory=dict, description="evaluation metrics at that epoch")

    @classmethod
    def of(cls, checkpoint: domain.Checkpoint) -> Checkpoint:
        return from_entity(
            cls,
            checkpoint,
            checkpoint_id=checkpoint.id,
            checkpoint_type=checkpoint.kind,
            time=utc(checkpoint.created_at),
            training_run_id=checkpoint.task_id,
        )


class CheckpointsList(BaseModel):
    checkpoints: list[Checkpoint]
    cursor: Cursor | None = None


class TrainingRun(BaseModel):
    training_run_id: str
    base_model: str
    model_owner: str
    is_lora: bool = False
    corrupted: bool = False
    lora_rank: int | None = None
    last_request_time: datetime
    last_checkpoint: Checkpoint | None = None
    last_sampler_checkpoint: Checkpoint | None = None
    status: str
    error: str | None = Field(None, description="why the run failed (exception's last line, or the signal)")
    session_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, task: domain.Task, checkpoints: list[domain.Checkpoint]) -> TrainingRun:
        """A train or prune task as Tinker's training run: its newest checkpoint of each kind."""
        last = {
            kind: max((c for c in checkpoints if c.kind == kind), key=lambda c: c.created_at, default=None)
            for kind in domain.CheckpointKind
        }
        training, sampler = last[domain.CheckpointKind.TRAINING], last[domain.CheckpointKind.SAMPLER]
        params, config = task.params, task.config
        times = [t for t in (task.updated_at, task.started_at, task.ended_at) if t]
        return cls(
            training_run_id=task.id,
            base_model=params.get("model", ""),
            model_owner=task.owner,
            corrupted=task.status in ("failed", "interrupted"),
            last_request_time=utc(max(times)),
            last_checkpoint=Checkpoint.of(training) if training else None,
            last_sampler_checkpoint=Checkpoint.of(sampler) if sampler else None,
            status=task.status,
            error=task.failure_reason,
            session_id=task.session_id,
            metadata={
                "kind": task.kind,
                "task_type": config.get("task_type", ""),
                "project_id": task.project_id,
                "dataset_id": config.get("dataset_id"),
                "description": task.notes,
                "num_epochs": params.get("num_epochs"),
                "run_index": task.run_index,
                "parent_id": task.parent_id,
                "created_at": utc(task.created_at),
            },
        )


class TrainingRunsList(BaseModel):
    training_runs: list[TrainingRun]
    cursor: Cursor


class TrainingRunCreate(Request):
    project_id: str | None = Field(None, description="train in this project (its bound, split dataset)")
    dataset_id: str | None = Field(None, description="or: a split dataset; a project is made for it")
    params: dict[str, Any] | None = Field(
        None, description="PaddleX training parameters; omitted: recommended"
    )
    description: str = ""
    session_id: str | None = None
    start: bool = True


class ArchiveUrl(BaseModel):
    url: str = Field(description="signed link to a .tar.gz of the folder, relative to the server")
    expires: datetime


class SessionCreate(Request):
    kernel_id: str = ""
    notebook_path: str = ""
    user_metadata: dict[str, str] | None = None


class SessionInfo(BaseModel):
    session_id: str
    training_run_ids: list[str]
    sampler_ids: list[str]
    user_metadata: dict[str, str] | None = None
    kernel_id: str = ""
    notebook_path: str = ""
    created_at: datetime
    last_request_time: datetime

    @classmethod
    def of(cls, session: domain.Session, run_ids: list[str], sampler_ids: list[str]) -> SessionInfo:
        """A session with the training runs and samplers it made."""
        return from_entity(
            cls,
            session,
            session_id=session.id,
            training_run_ids=run_ids,
            sampler_ids=sampler_ids,
            user_metadata=session.attrs.get("user_metadata") or None,
            created_at=utc(session.created_at),
            last_request_time=utc(session.last_request_at),
        )


class SessionsList(BaseModel):
    sessions: list[str]
    cursor: Cursor


class SamplerCreate(Request):
    path: str = Field(min_length=1, description="checkpoint path or kept model id (see weights_info)")
    session_id: str | None = None


class Sampler(BaseModel):
    sampler_id: str
    base_model: str
    model_path: str
    task_type: str
    labels: list[str]
    training_run_id: str | None = None
    session_id: str | None = None
    status: str
    created_at: datetime

    @classmethod
    def of(cls, sampler: domain.Sampler) -> Sampler:
        """A sampler; what it was loaded from (model, task type, labels) is in its ``attrs``."""
        attrs = sampler.attrs
        return from_entity(
            cls,
            sampler,
            sampler_id=sampler.id,
            base_model=attrs.get("base_model", ""),
            model_path=sampler.source_path,
            task_type=attrs.get("task_type", ""),
            labels=attrs.get("labels", []),
            training_run_id=sampler.task_id,
            created_at=utc(sampler.created_at),
        )


class SampleRequest(Request):
    image: str = Field(min_length=1, description="the image file (PNG, JPEG...), base64")
    score_thresh: float = Field(0.5, ge=0, le=1)
    visualize: bool = Field(True, description="also return the result drawn on the image (PNG, base64)")


class SampleReply(BaseModel):
    sampler_id: str
    result: dict[str, Any]
    visualization: str | None = None


class WeightsEntry(BaseModel):
    weights_id: str
    name: str
    kind: Literal["pretrained", "exported"]
    base_model: str
    status: Literal[WEIGHTS_STATES]  # type: ignore[valid-type]
    training_run_id: str | None = None
    path: str
    created_at: datetime
    archive_url_path: str = Field(description="GET this for a signed archive link of these weights")

    @classmethod
    def of(cls, weights: domain.Weights, archive_url_path: str) -> WeightsEntry:
        return from_entity(
            cls,
            weights,
            weights_id=weights.id,
            base_model=weights.model_type,
            training_run_id=weights.task_id,
            created_at=utc(weights.created_at),
            archive_url_path=archive_url_path,
        )


class WeightsList(BaseModel):
    weights: list[WeightsEntry]
    cursor: Cursor
    page: int
    page_size: int


class WeightsInfoRequest(BaseModel):
    """Tinker's ``get_weights_info_by_tinker_path`` body (unknown keys ignored: later SDKs may add some)."""

    tinker_path: str = Field(
        min_length=1, description="a tinker:// or trio:// checkpoint path, or a kept model id"
    )


class ClientConfig(BaseModel):
    """What the Tinker SDK asks a server before its first call (``POST /api/v1/client/config``)."""

    pjwt_auth_enabled: bool = Field(
        False, description="false: keep sending the Jupyter token, no JWT exchange"
    )
    use_pyqwest_transport: bool = Field(False, description="false: plain httpx")


class ClientDynamicConfig(BaseModel):
    refresh_interval_sec: int = 300
    sample_cancel_enabled: bool = False
    sample_cancel_max_batch_size: int = 64


class TelemetryAccepted(BaseModel):
    status: Literal["accepted"] = "accepted"


class WeightsInfo(BaseModel):
    path: str
    base_model: str
    task_type: str
    is_lora: bool = False
    lora_rank: int | None = None
    checkpoint_type: str
    training_run_id: str | None = None
    checkpoint_id: str | None = None
    epoch: int | None = None
    labels: list[str] = Field(default_factory=list)
    num_parameters: int | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    size_bytes: int
    time: datetime | None = None

    @classmethod
    def of(cls, facts: domain.WeightsFacts) -> WeightsInfo:
        return from_entity(cls, facts, time=utc(facts.time))


class UserInfo(BaseModel):
    user_id: str
    name: str
    display_name: str = ""
    server_version: str
    workspace: str
    admin: bool = False
    groups: list[str] = Field(default_factory=list, description="JupyterHub groups (empty off a Hub)")
    scopes: list[str] = Field(default_factory=list, description="the scopes the token holds (on a Hub)")

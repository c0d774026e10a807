"""Wire forms of the model registry (native dialect and v1)."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, Field

from .. import domain
from .mapping import from_entity
from .native import Request


class ModelCreate(Request):
    name: str = Field(max_length=128)
    description: str = Field("", max_length=10_000)


class VersionCreate(Request):
    source: str = Field(
        max_length=1000,
        description="what the version is: a checkpoint path (trio://<run>/weights/<id>, tinker://...) or a "
        "kept model id (PM0001 pretrained, EM0001 exported)",
    )
    description: str = Field("", max_length=10_000)


class AliasSet(Request):
    version: int = Field(ge=1, description="the version the alias names from now on")


class ModelVersionInfo(BaseModel):
    name: str
    version: int
    owner: str
    source: str
    created_at: float
    weights_id: str | None = None
    task_id: str | None = Field(None, description="the training run it came from")
    run_index: int | None = None
    checkpoint: str = ""
    epoch: int | None = None
    export_path: str = ""
    description: str = ""
    aliases: list[str] = Field(default_factory=list)
    lineage: list[dict[str, Any]] | None = Field(
        None, description="run → checkpoint → export → this version, oldest first (one version's reply)"
    )

    @classmethod
    def of(cls, version: domain.ModelVersion, lineage: list[dict[str, Any]] | None = None) -> Self:
        return from_entity(cls, version, aliases=list(version.aliases), lineage=lineage)


class RegisteredModelInfo(BaseModel):
    name: str
    owner: str
    description: str
    created_at: float
    updated_at: float
    latest_version: int
    aliases: dict[str, int] = Field(description="alias → version")
    versions: list[ModelVersionInfo] | None = None

    @classmethod
    def of(cls, model: domain.RegisteredModel, versions: list[domain.ModelVersion] | None = None) -> Self:
        return from_entity(
            cls,
            model,
            aliases=dict(model.aliases),
            versions=None if versions is None else [ModelVersionInfo.of(v) for v in versions],
        )


class RegisteredModelList(BaseModel):
    models: list[RegisteredModelInfo]


# ---- v1 (Tinker's field names: a version is made from a tinker:// path)
class V1VersionCreate(Request):
    path: str = Field(
        max_length=1000, description="a tinker:// or trio:// checkpoint path, or a kept model id"
    )
    description: str = Field("", max_length=10_000)


class V1ModelVersion(BaseModel):
    model_name: str
    version: int
    tinker_path: str = Field(description="the checkpoint (tinker://...) or kept model id it was made from")
    training_run_id: str | None = None
    checkpoint_id: str = ""
    aliases: list[str] = Field(default_factory=list)
    time: float

    @classmethod
    def of(cls, v: domain.ModelVersion) -> Self:
        path = v.source.replace("trio://", "tinker://", 1) if v.source.startswith("trio://") else v.source
        return cls(
            model_name=v.name,
            version=v.version,
            tinker_path=path,
            training_run_id=v.task_id,
            checkpoint_id=v.checkpoint,
            aliases=list(v.aliases),
            time=v.created_at,
        )


class V1ModelVersions(BaseModel):
    model_name: str
    versions: list[V1ModelVersion]

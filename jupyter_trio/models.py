"""Pydantic request/response models of the native API (``/trio/api``).

One small model per wire type. The OpenAPI document is generated from these.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class GPUInfo(BaseModel):
    index: int
    name: str = ""
    uuid: str = ""
    memory_total: int = Field(0, description="bytes; 0 when unknown")


class HealthReply(BaseModel):
    status: str = Field("ok", description="always 'ok' when the server answers")
    version: str
    user: str
    workspace: str = Field(description="absolute path of the workspace folder")
    schema_version: int
    gpus: list[GPUInfo]
    executor: str
    max_cpu_jobs: int


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

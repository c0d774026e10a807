"""The domain's queries and commands: what a caller asks the store for (a page of tasks) or to make."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task to insert (the store gives it its id, folder, state and times)."""

    name: str
    kind: str
    owner: str
    workspace: str = ""
    script_path: str = ""
    command: str = ""
    config: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    priority: int = 0
    gpu_count: int = 0
    project_id: str | None = None
    parent_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """A page of the task list: filters (``None``: any), a sort column and a window."""

    status: str | None = None
    kind: str | None = None
    pinned: bool | None = None
    name: str | None = None  # substring
    workspace: str | None = None
    project_id: str | None = None
    owner: str | None = None
    kinds: tuple[str, ...] | None = None  # any of these kinds
    sort: str = "created_at"
    descending: bool = True
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class GeneratedTask:
    """One task of a batch: its name, and its config (a script task) or its command (a shell task)."""

    name: str
    config: dict[str, Any] | None = None
    command: str | None = None
    id: str | None = None  # once created


@dataclass(frozen=True, slots=True)
class GeneratedBatch:
    task_kind: str  # script | shell
    items: list[GeneratedTask]

    @property
    def count(self) -> int:
        return len(self.items)

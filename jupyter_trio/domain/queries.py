"""The domain's queries and commands: what a caller asks the store for (a page of tasks) or to make."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .entities import NotifyTarget


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task to insert (the store gives it its id, folder, state and times)."""

    name: str
    kind: str
    owner: str
    workspace: str = ""
    script_path: str = ""
    command: str = ""
    kernel: str = ""
    config: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    priority: int = 0
    gpu_count: int = 0
    gpu_memory: int = 0  # MiB of a shared GPU instead of whole GPUs (packing)
    project_id: str | None = None
    parent_id: str | None = None
    session_id: str | None = None
    max_retries: int = 0
    retry_on: tuple[str, ...] = ("failed", "interrupted")
    notify: tuple[NotifyTarget, ...] = ()  # run-end notifications of this task (checked by the service)


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


# ---- the run table's query language (parsed by services/run_query.py, compiled to SQL by store/run_table.py)
@dataclass(frozen=True, slots=True)
class ColumnRef:
    """A column as the query language names it: ``status``, ``lr``, ``optimizer.lr``, ``acc.max``,
    ``acc.at(3)`` (``parts`` = the dotted name's parts; ``at`` = the step of ``.at(k)``)."""

    parts: tuple[str, ...]
    at: int | None = None

    @property
    def name(self) -> str:
        dotted = ".".join(self.parts)
        return f"{dotted}.at({self.at})" if self.at is not None else dotted


Literal = float | int | str | bool | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """``column op value`` (op: = != < <= > >= ~ !~), or ``column in (values)`` (op ``in``)."""

    column: ColumnRef
    op: str
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" | "or"
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


Expr = Comparison | BoolOp | Not


@dataclass(frozen=True, slots=True)
class RunTableQuery:
    """A page of the run table: rows matching ``where``, ordered by ``sort``, with ``columns`` (all when
    ``None``)."""

    where: Expr | None = None
    columns: tuple[ColumnRef, ...] | None = None
    sort: ColumnRef | None = None
    descending: bool = True
    limit: int = 100
    offset: int = 0

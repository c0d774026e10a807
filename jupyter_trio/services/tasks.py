"""Tasks: batch generation (atomic), and the per-task actions of the task API."""

from __future__ import annotations

import re
import shutil
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import batch, config_yaml
from ..domain import (
    GeneratedBatch,
    GeneratedTask,
    JSONObject,
    NewTask,
    Provenance,
    Run,
    ScriptWorkspace,
    Task,
    TaskQuery,
)
from ..errors import BadRequest, Conflict, NotFound, ValidationFailed
from ..runner.gpu_sources import GPUSource
from ..runner.gpus import gpu_memory
from ..runner.service import Runner, check_env
from ..store import Store
from ..store.task_files import materialize
from ..vocabulary import ACTIVE, CHILD_JOB_KINDS
from . import provenance
from .notifications import check_urls
from .retries import MAX_RETRIES, RETRY_REASONS
from .workspaces import SHELL, ScriptWorkspaces

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MODES = ("form", "yaml", "shell")


def check_name(name: str, what: str = "task name") -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValidationFailed(
            f"{what} {name!r} must be 1-128 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


@dataclass
class GeneratorRequest:
    name_prefix: str = "task"
    mode: str = "form"
    yaml_text: str = ""
    shell_text: str = ""
    template_value: dict | None = None
    append_timestamp: bool = False
    run: bool = False
    priority: int = 0
    gpus: int = 0
    gpu_memory: int = 0  # MiB of one shared GPU instead of whole GPUs (packing)
    notify: list[str] = field(default_factory=list)  # Apprise URLs told when a run of a task ends
    max_retries: int = 0  # a run ending in a retry_on way runs again, this many times at most
    retry_on: list[str] = field(default_factory=lambda: ["failed", "interrupted"])


class TaskService:
    """The generator and the per-task actions.

    ``preview`` and ``create`` may expand a batch of up to ``limits`` (100,000 tasks by default): they are
    plain blocking methods, and the handlers run them in a worker thread, never on the event loop.
    """

    def __init__(
        self,
        store: Store,
        runner: Runner,
        workspaces: ScriptWorkspaces,
        limits: batch.Limits | None = None,
    ):
        self.store = store
        self.limits = limits or batch.Limits()
        self.repo = store.tasks
        self.runner = runner
        self.workspaces = workspaces
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trio-task-files")
        self._pending: list[Future] = []
        self._pending_lock = threading.Lock()  # create runs in worker threads (see the class docstring)

    # ---- lookup
    def get(self, name: str) -> Task:
        task = self.repo.get(name)
        if task is None:
            raise NotFound(f"no such task: {name!r}")
        return task

    def detail(self, name: str) -> tuple[Task, list[Run]]:
        """A task and every run of it, oldest first."""
        task = self.get(name)
        return task, self.repo.runs(task.id)

    def provenance(self, task: Task, runs: list[Run]) -> dict[int, Provenance]:
        """What each run ran (services/provenance.py), for the runs whose provenance was captured."""
        found = {}
        for run in runs:
            recorded = provenance.read(self.store.layout.run_dir(task.id, run.run_index))
            if recorded is not None:
                found[run.run_index] = recorded
        return found

    def find(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        pinned: bool | None = None,
        name: str | None = None,
        workspace: str | None = None,
        owner: str | None = None,
        sort: str = "created_at",
        descending: bool = True,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[Task], int]:
        """A page of tasks matching every filter given (``name`` is a substring), and the total."""
        return self.list(
            TaskQuery(
                status=status,
                kind=kind,
                pinned=pinned,
                name=name,
                workspace=workspace,
                owner=owner,
                sort=sort,
                descending=descending,
                offset=offset,
                limit=limit,
            )
        )

    def run_of(self, name: str, run: int | None) -> tuple[Task, Run]:
        """(task, run) for run slot ``run`` of a task (default its latest); 404 when there is none."""
        task = self.get(name)
        index = run or task.run_index
        row = self.repo.run(task.id, index) if index >= 1 else None
        if row is None:
            raise NotFound(
                f"task {task.name!r} has no run {index}" if index else f"task {task.name!r} has not run yet"
            )
        return task, row

    def run_state(self, task_id: str, run: int) -> Run | None:
        """The run as it is now (``None`` once its task was deleted)."""
        return self.repo.run(task_id, run)

    @staticmethod
    def gpu_memory() -> list[dict[str, Any]]:
        """Free, used and total memory of each GPU NVML sees (PaddleX's ``/system``)."""
        return gpu_memory()

    def run_dir(self, task_id: str, run: int) -> Path:
        return self.store.layout.run_dir(task_id, run)

    def list(self, query: TaskQuery) -> tuple[list[Task], int]:
        return self.repo.list(query)

    # ---- generator
    def _expand(
        self, req: GeneratorRequest, owner: str
    ) -> tuple[str, ScriptWorkspace | None, list[JSONObject | None]]:
        """(task kind, the script workspace — None for shell tasks, one config per task — None for shell
        tasks)."""
        if req.mode not in MODES:
            raise ValidationFailed(f"mode must be one of {', '.join(MODES)}; got {req.mode!r}")
        check_name(req.name_prefix, "name_prefix")
        if req.mode == "shell":
            if not req.shell_text.strip():
                raise ValidationFailed("shell_text is required in shell mode")
            return "shell", None, [None]
        ws = self.workspaces.current(owner)
        if ws.kind != "script":
            raise Conflict("open a script workspace first (POST /trio/api/workspace/run-root)")
        if not ws.ready:
            raise Conflict(f"the workspace's script {ws.script_relpath!r} no longer exists")
        max_nodes = self.workspaces.max_yaml_nodes
        if req.mode == "yaml":
            return "script", ws, [_parse_yaml(req.yaml_text, max_nodes)]  # one task, taken as written
        if req.template_value is not None:
            template = req.template_value
        elif req.yaml_text.strip():
            template = _parse_yaml(req.yaml_text, max_nodes)
        else:
            template = ws.config_default
        return "script", ws, batch.expand(template, self.limits)

    def _names(self, conn, req: GeneratorRequest, count: int) -> list[str]:
        base = req.name_prefix
        if req.append_timestamp:
            base = f"{base}_{time.strftime('%Y%m%d-%H%M%S')}"
        pattern = re.compile(re.escape(base) + r"_(\d+)$")
        taken = [
            int(m.group(1)) for n in self.repo.names_with_prefix(conn, base + "_") if (m := pattern.match(n))
        ]
        start = max(taken, default=0) + 1
        width = max(3, len(str(start + count - 1)))
        return [f"{base}_{start + i:0{width}d}" for i in range(count)]

    def preview(self, req: GeneratorRequest, owner: str) -> GeneratedBatch:
        kind, _, configs = self._expand(req, owner)
        check_urls(req.notify)
        conn = self.store.db.connection()
        names = self._names(conn, req, len(configs))
        return GeneratedBatch(kind, _items(names, configs, req))

    def create(self, req: GeneratorRequest, owner: str) -> GeneratedBatch:
        """Create every task of the batch, or none: one transaction for all rows.

        Each task's frozen ``config.yaml`` (or ``command.sh``) is written to its folder right after
        the commit by a background writer, and again on demand before a run starts, so a batch of
        10,000 tasks returns as soon as the database has it.
        """
        kind, ws, configs = self._expand(req, owner)
        check_gpus(self.runner.gpu_source, req.gpus)
        gpu_count = check_gpu_memory(self.runner.gpu_source, req.gpu_memory, req.gpus)
        notify = check_urls(req.notify)
        retry_on = check_retries(req.max_retries, req.retry_on)
        with self.store.db.transaction() as conn:
            names = self._names(conn, req, len(configs))
            new = [
                NewTask(
                    name=name,
                    kind=kind,
                    owner=owner,
                    config=config or {},
                    workspace=ws.name if ws is not None else SHELL,
                    script_path=ws.script_relpath if ws is not None else "",
                    command=req.shell_text if kind == "shell" else "",
                    priority=req.priority,
                    gpu_count=gpu_count,
                    gpu_memory=req.gpu_memory,
                    notify=notify,
                    max_retries=req.max_retries,
                    retry_on=retry_on,
                )
                for name, config in zip(names, configs)
            ]
            ids = self.repo.insert_many(conn, new)
            if req.run:
                self.repo.add_runs(conn, ids)
        with self._pending_lock:
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(self._writer.submit(self._materialize_many, list(zip(ids, new))))
        if req.run:
            self.runner.wake()
        return GeneratedBatch(kind, _items(names, configs, req, ids))

    def _materialize_many(self, tasks: list[tuple[str, NewTask]]) -> None:
        for task_id, task in tasks:
            materialize(self.store.layout, task_id, task.kind, task.config, task.command)

    def gpu_states(self) -> list[JSONObject]:
        """Per GPU this server may use: yours / free / another user's (see ``GPUSource.status``)."""
        return self.runner.gpu_source.status(self.repo.running())

    def close(self) -> None:
        self._writer.shutdown(wait=True)

    def flush(self) -> None:
        """Wait until every task folder of earlier batches is written."""
        while True:
            with self._pending_lock:
                if not self._pending:
                    return
                first = self._pending.pop(0)
            first.result()

    # ---- actions
    def run(
        self,
        name: str,
        *,
        priority: int | None = None,
        gpus: int | None = None,
        max_retries: int | None = None,
        retry_on: list[str] | None = None,
    ) -> Task:
        """Queue a new run; ``max_retries`` / ``retry_on``, when given, become the task's from now on."""
        task = self.get(name)
        if max_retries is not None or retry_on is not None:
            budget = task.max_retries if max_retries is None else max_retries
            reasons = check_retries(budget, list(task.retry_on) if retry_on is None else retry_on)
            self.repo.update(task.id, max_retries=budget, retry_on=reasons)
            task = self.get(task.id)
        self.runner.submit(task, priority=priority, gpus=gpus)
        return self.get(task.id)

    def cancel(self, name: str) -> Task:
        task = self.get(name)
        self.runner.cancel(task)
        return self.get(task.id)

    def pin(self, name: str, pinned: bool | None) -> Task:
        task = self.get(name)
        self.repo.update(task.id, pinned=(not task.pinned) if pinned is None else pinned)
        return self.get(task.id)

    def set_notes(self, name: str, notes: str) -> Task:
        task = self.get(name)
        self.repo.update(task.id, notes=notes)
        return self.get(task.id)

    def set_env(self, name: str, env: dict[str, Any]) -> Task:
        task = self.get(name)
        self.repo.update(task.id, env=check_env(env))
        return self.get(task.id)

    def set_notify(self, name: str, urls: list[str]) -> Task:
        """Replace the Apprise URLs told when a run of the task ends (checked: 422 on a bad one)."""
        task = self.get(name)
        self.repo.update(task.id, notify=check_urls(urls))
        return self.get(task.id)

    def rename(self, name: str, new_name: str) -> Task:
        task = self.get(name)
        check_name(new_name)
        if new_name == task.name:
            return task
        if self.repo.get(new_name) is not None:
            raise Conflict(f"a task named {new_name!r} already exists")
        self.repo.update(task.id, name=new_name)
        return self.get(task.id)

    def delete(self, name: str, *, force: bool = False) -> None:
        """Delete a task and its files; a train task's child jobs (evaluate, predict...) go with it."""
        task = self.get(name)
        for child in self.repo.children(task.id, CHILD_JOB_KINDS):
            self.delete(child, force=True)
        if task.status in ACTIVE:
            if not force:
                raise Conflict(f"task {name!r} is {task.status}; cancel it first or delete with force=true")
            self.runner.kill_now(task)
        self.flush()  # the background writer must not re-create the folder after we remove it
        for schedule in self.store.schedules.list(task_id=task.id):  # a schedule of nothing is no schedule
            self.store.schedules.delete(schedule.id)
        self.repo.delete(task.id)
        shutil.rmtree(self.store.layout.task_dir(task.id), ignore_errors=True)


def check_gpus(source: GPUSource, gpus: int) -> None:
    """A task's GPU count: a whole number from 0 to the most this server's GPU source can give."""
    limit = source.max_gpus()
    if (
        isinstance(gpus, bool)
        or not isinstance(gpus, int)
        or gpus < 0
        or (limit is not None and gpus > limit)
    ):
        raise ValidationFailed(f"gpus must be a whole number between 0 and {limit} on this server")


def check_gpu_memory(source: GPUSource, gpu_memory: int, gpus: int) -> int:
    """A packed task's request checked (``gpu_memory`` MiB of one GPU shared with other such tasks): the
    GPU count to store, 1 when packing. Packing is the local GPU source's (a Hub or a cluster gives whole
    GPUs); a task that asks more than any GPU offers could never start."""
    if isinstance(gpu_memory, bool) or not isinstance(gpu_memory, int) or gpu_memory < 0:
        raise ValidationFailed("gpu_memory must be a whole number of MiB, 0 or more")
    if not gpu_memory:
        return gpus
    if gpus > 1:
        raise ValidationFailed("gpu_memory shares one GPU: ask for gpus 0 or 1 with it, not several")
    capacity = {g: mib for g, mib in source.capacity().items() if mib > 0}
    if not capacity:
        raise ValidationFailed("gpu_memory: this server's GPU source does not share GPUs (local GPUs only)")
    if gpu_memory > max(capacity.values()):
        raise ValidationFailed(
            f"gpu_memory: no GPU of this server offers {gpu_memory} MiB (at most {max(capacity.values())}; "
            "c.LocalGPUs.gpu_memory_mib sets it where NVML cannot say)"
        )
    return 1


def check_retries(max_retries: int, retry_on: list[str]) -> tuple[str, ...]:
    """A retry budget and its reasons, checked: 0..MAX_RETRIES, reasons of RETRY_REASONS (no repeats)."""
    if (
        isinstance(max_retries, bool)
        or not isinstance(max_retries, int)
        or not 0 <= max_retries <= MAX_RETRIES
    ):
        raise ValidationFailed(f"max_retries must be a whole number from 0 to {MAX_RETRIES}")
    unknown = [r for r in retry_on if r not in RETRY_REASONS]
    if unknown:
        raise ValidationFailed(f"retry_on: {unknown[0]!r} is not one of {', '.join(RETRY_REASONS)}")
    return tuple(dict.fromkeys(retry_on))


def _parse_yaml(text: str, max_nodes: int = config_yaml.MAX_NODES) -> JSONObject:
    try:
        data = config_yaml.load(text, max_nodes=max_nodes, what="yaml_text") if text.strip() else {}
    except config_yaml.YAMLTooLarge:
        raise
    except yaml.YAMLError as exc:
        raise BadRequest(f"yaml_text is not valid YAML: {exc}", code="invalid_yaml") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationFailed("yaml_text must hold a mapping of keys to values")
    return data


def _items(
    names: list[str], configs: list[JSONObject | None], req: GeneratorRequest, ids: list[str] | None = None
) -> list[GeneratedTask]:
    ids = ids or [None] * len(names)  # type: ignore[list-item]
    if configs and configs[0] is None:
        return [GeneratedTask(n, command=req.shell_text, id=i) for n, i in zip(names, ids)]
    return [GeneratedTask(n, config=c, id=i) for n, c, i in zip(names, configs, ids)]

"""Notebook jobs: a notebook executed headless with parameters, as a task of kind ``notebook_job``.

The server checks what it can before anything is queued — the notebook is a readable nbformat document
under the server root, its kernel is installed, the parameters are JSON — and reads the notebook's
parameters the way papermill does (``papermill.inspect_notebook``). The run itself is the job's
(``runner/notebook_job.py``); its outputs (the executed notebook, its HTML, files a cell wrote) stay in the
run folder's ``outputs/`` and are served by the files API.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
from nbformat.reader import NotJSONError

from ..domain import JobOutput, NewTask, NotebookInfo, NotebookParameter, Task
from ..errors import Conflict, NotFound, PathOutsideWorkspace, PayloadTooLarge, ValidationFailed
from ..runner.service import check_env
from ..store import Store
from ..store.paths import resolve_inside
from .tasks import TaskService, check_gpu_memory, check_gpus, check_name

log = logging.getLogger(__name__)

MAX_NOTEBOOK_BYTES = 64 << 20  # a notebook is read whole, by the server and by the job
OUTPUTS = "outputs"  # the run folder's output folder
OPEN_ROOT = "jobs"  # where "open" copies a run's outputs, under the server root (jupyter-scheduler's too)


class NotebookJobService:
    def __init__(
        self,
        store: Store,
        tasks: TaskService,
        root_dir: Path,
        kernel_names: Callable[[], dict[str, str]],
    ):
        """``kernel_names()``: the installed kernelspecs, name → display name (the server's manager)."""
        self.store = store
        self.tasks = tasks
        self.root_dir = Path(root_dir)
        self.kernel_names = kernel_names

    # ---- reading a notebook
    def notebook_path(self, path: str, scripts: bool = False) -> tuple[Path, str]:
        """The notebook's real path and its path relative to the server root; 4xx unless it is a readable
        ``.ipynb`` file (or with ``scripts`` a ``.py``) under the root, outside hidden folders."""
        if not isinstance(path, str) or not path.strip():
            raise ValidationFailed("notebook: a path relative to the server root is required")
        target = resolve_inside(self.root_dir, path.strip())
        relative = target.relative_to(Path(self.root_dir).resolve()).as_posix()
        if any(part.startswith(".") for part in Path(relative).parts):
            raise PathOutsideWorkspace(f"notebook: {path!r} is in a hidden folder")
        if target.suffix != ".ipynb" and not (scripts and target.suffix == ".py"):
            raise ValidationFailed(
                f"notebook: {path!r} is not a .ipynb notebook" + (" or .py script" if scripts else "")
            )
        if not target.is_file():
            raise NotFound(f"notebook: no such file under the server root: {path}")
        if target.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise PayloadTooLarge(f"notebook: {path!r} is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
        return target, relative

    def read(self, target: Path, shown: str) -> nbformat.NotebookNode:
        try:
            nb = nbformat.read(target, as_version=4)
            nbformat.validate(nb)
        except (json.JSONDecodeError, UnicodeDecodeError, NotJSONError):
            raise ValidationFailed(f"notebook: {shown!r} is not valid JSON") from None
        except nbformat.ValidationError as exc:
            raise ValidationFailed(f"notebook: {shown!r} is not a valid notebook: {exc.message}") from None
        except Exception as exc:  # nbformat raises several kinds for documents it cannot read
            raise ValidationFailed(f"notebook: {shown!r} cannot be read as a notebook: {exc}") from None
        return nb

    def inspect(self, path: str) -> NotebookInfo:
        """The notebook's kernel and the parameters of its ``parameters`` cell, as papermill reads them (a
        ``.py`` script: no kernel, no declared parameters; it reads what it is given with ``trio.read()``)."""
        target, relative = self.notebook_path(path, scripts=True)
        if target.suffix == ".py":
            return NotebookInfo(relative, "", "", (), 0, False)
        nb = self.read(target, path)
        from papermill.inspection import inspect_notebook  # 1.5 s of imports: only when asked

        try:
            found = inspect_notebook(str(target))
        except Exception as exc:
            raise ValidationFailed(f"notebook: the parameters of {path!r} cannot be read: {exc}") from None
        spec = nb.metadata.get("kernelspec") or {}
        return NotebookInfo(
            notebook=relative,
            kernel=str(spec.get("name") or ""),
            kernel_display_name=str(spec.get("display_name") or spec.get("name") or ""),
            parameters=tuple(
                NotebookParameter(
                    name=p["name"],
                    type=str(p.get("inferred_type_name") or "None"),
                    default=str(p.get("default") or ""),
                    help=str(p.get("help") or ""),
                )
                for p in found.values()
            ),
            cells=sum(1 for cell in nb.cells if cell.get("cell_type") == "code"),
            has_parameters_cell=any("parameters" in (c.metadata.get("tags") or []) for c in nb.cells),
        )

    def check_kernel(self, nb: nbformat.NotebookNode, kernel: str, shown: str) -> str:
        """The kernel a job will start: ``kernel``, else the notebook's kernelspec; 422 when not installed."""
        installed = self.kernel_names()
        name = kernel or str((nb.metadata.get("kernelspec") or {}).get("name") or "")
        if not name:
            raise ValidationFailed(
                f"notebook: {shown!r} names no kernel; choose one ({', '.join(installed)})"
            )
        if name not in installed:
            whose = "kernel" if kernel else f"the kernel of {shown!r}"
            raise ValidationFailed(
                f"{whose}: {name!r} is not installed on this server; one of {', '.join(sorted(installed))}"
            )
        return kernel

    # ---- making one
    def create(
        self,
        owner: str,
        notebook: str,
        parameters: dict[str, Any],
        *,
        kernel: str = "",
        name: str | None = None,
        gpus: int = 0,
        gpu_memory: int = 0,
        priority: int = 0,
        env: dict[str, Any] | None = None,
        run: bool = True,
    ) -> tuple[Task, list[str]]:
        """A notebook job (queued when ``run``) and papermill's warnings: the parameters the notebook's
        ``parameters`` cell does not declare are injected anyway, as papermill does, and named here."""
        target, relative = self.notebook_path(notebook, scripts=True)
        script = (
            target.suffix == ".py"
        )  # jupyter-scheduler#409: a .py runs as a script task, its config the parameters
        if script and kernel:
            raise ValidationFailed(
                "kernel: a .py script runs in the server's Python; kernels are for notebooks"
            )
        nb = None if script else self.read(target, notebook)
        kernel = "" if nb is None else self.check_kernel(nb, kernel or "", notebook)
        if not isinstance(parameters, dict):
            raise ValidationFailed("parameters: a JSON object of names to values is required")
        bad = [k for k in parameters if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(k))]
        if bad:
            raise ValidationFailed(f"parameters: {bad[0]!r} is not a valid variable name")
        check_gpus(self.tasks.runner.gpu_source, gpus)
        gpus = check_gpu_memory(self.tasks.runner.gpu_source, gpu_memory, gpus)
        job_env = check_env(env or {})
        warnings = [] if nb is None else self._undeclared(nb, parameters, notebook)
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", target.stem).lstrip("._-") or "notebook"
        with self.store.db.transaction() as conn:
            if name is not None:
                check_name(name)
                if self.store.tasks.existing_names(conn, [name]):
                    raise Conflict(f"a task named {name!r} exists already")
            else:
                name = self._free_name(conn, f"{stem[:100]}-{time.strftime('%Y%m%d-%H%M%S')}")
            [task_id] = self.store.tasks.insert_many(
                conn,
                [
                    NewTask(
                        name=name,
                        kind="script" if script else "notebook_job",
                        owner=owner,
                        script_path=relative,
                        kernel=kernel,
                        config=dict(parameters),
                        env=job_env,
                        gpu_count=gpus,
                        gpu_memory=gpu_memory,
                        priority=priority,
                    )
                ],
            )
            if run:
                self.store.tasks.add_runs(conn, [task_id])
        if run:
            self.tasks.runner.wake()
        return self.tasks.get(task_id), warnings

    def copy_definition(self, task: Task, name: str) -> Task:
        """A new task from ``task``'s definition (a schedule's ``new_task`` fire): same kind, script or
        notebook, config, kernel, env, GPUs, priority, retries and notifications; not run."""
        with self.store.db.transaction() as conn:
            [task_id] = self.store.tasks.insert_many(
                conn,
                [
                    NewTask(
                        name=self._free_name(conn, name),
                        kind=task.kind,
                        owner=task.owner,
                        workspace=task.workspace,
                        script_path=task.script_path,
                        command=task.command,
                        kernel=task.kernel,
                        config=dict(task.config),
                        params=dict(task.params),
                        env=dict(task.env),
                        priority=task.priority,
                        gpu_count=task.gpu_count,
                        gpu_memory=task.gpu_memory,
                        project_id=task.project_id,
                        max_retries=task.max_retries,
                        retry_on=task.retry_on,
                        notify=task.notify,
                    )
                ],
            )
        return self.tasks.get(task_id)

    def _free_name(self, conn: Any, base: str) -> str:
        taken = set(self.store.tasks.names_with_prefix(conn, base))
        if base not in taken:
            return base
        return next(f"{base}_{i}" for i in range(2, len(taken) + 3) if f"{base}_{i}" not in taken)

    @staticmethod
    def _undeclared(nb: nbformat.NotebookNode, parameters: dict[str, Any], shown: str) -> list[str]:
        cell = next((c for c in nb.cells if "parameters" in (c.metadata.get("tags") or [])), None)
        if cell is None:
            return (
                [f"{shown!r} has no cell tagged 'parameters': the parameters are injected at the top"]
                if parameters
                else []
            )
        declared = set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=", cell.source, re.M))
        return [
            f"parameter {key!r} is not declared in the parameters cell of {shown!r}"
            for key in parameters
            if key not in declared
        ]

    # ---- what a run left
    def outputs(self, name: str, run: int | None = None) -> tuple[Task, int, list[JobOutput]]:
        """The files in a run's output folder (default: the latest run), executed notebook first."""
        task, found = self.tasks.run_of(name, run)
        folder = self.store.layout.run_dir(task.id, found.run_index) / OUTPUTS
        outputs: list[JobOutput] = []
        if folder.is_dir():
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
                kind = {".ipynb": "notebook", ".html": "html"}.get(path.suffix, "file")
                outputs.append(
                    JobOutput(
                        name=path.relative_to(folder).as_posix(),
                        path=self.store.layout.relative(path),
                        size=path.stat().st_size,
                        kind=kind,
                    )
                )
        order = {"notebook": 0, "html": 1, "file": 2}
        outputs.sort(key=lambda o: (order[o.kind], o.name))
        return task, found.run_index, outputs

    def open_copy(self, name: str, run: int | None = None) -> str:
        """Copy a run's executed notebook (and its output folder) to ``jobs/<task>/run-<n>/`` under the
        server root, where JupyterLab opens it (the workspace is hidden from the contents API); the
        notebook's path relative to the root. Copies again over an older copy."""
        task, run_index, outputs = self.outputs(name, run)
        notebook = next((o for o in outputs if o.kind == "notebook"), None)
        if notebook is None:
            raise NotFound(f"run {run_index} of {task.name!r} has no executed notebook")
        source = self.store.layout.run_dir(task.id, run_index) / OUTPUTS
        target = resolve_inside(self.root_dir, f"{OPEN_ROOT}/{task.name}/run-{run_index}")
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, symlinks=True)
        return (Path(f"{OPEN_ROOT}/{task.name}/run-{run_index}") / notebook.name).as_posix()

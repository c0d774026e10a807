"""/system, /workspace, /dataset (create, query, delete) and /project."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict
from typing import Any

from ...domain import Dataset, Project, Task
from ...errors import ValidationFailed
from ...schemas.paddlex import (
    DatasetCreate,
    DatasetCreated,
    DatasetDetailsReply,
    DatasetImport,
    DatasetQuery,
    DatasetRef,
    DatasetReply,
    DatasetSplit,
    ProjectCreate,
    ProjectCreated,
    ProjectQuery,
    ProjectRef,
    ProjectReply,
    SystemArgs,
    SystemReply,
    WorkspaceChange,
    WorkspaceQuery,
    WorkspaceReply,
)
from ...services.projects import ProjectService
from ...vocabulary import RUN_KINDS
from ..base import operation
from .base import PaddleXHandler, paddlex_time
from .enums import DATASET_STATUS
from .status import task_status


def dataset_attr(projects: ProjectService, dataset: Dataset, with_status: bool = False) -> dict[str, Any]:
    """PaddleX's dataset ``attr``; the list and workspace views also carry status and message."""
    attr = {
        "type": dataset.dataset_type,
        "id": dataset.id,
        "name": dataset.name,
        "path": dataset.path,
        "desc": dataset.description,
        "create_time": paddlex_time(dataset.created_at),
        "pids": projects.dataset_project_ids(dataset.id),
    }
    if with_status:
        attr.update(dataset_status=DATASET_STATUS[dataset.status].value, message=dataset.message)
    return attr


# the tasks PaddleX clients see as tasks; evaluate/predict/export/analysis jobs belong to their train task
PADDLEX_TASK_KINDS = RUN_KINDS  # PaddleX lists training tasks; their child jobs show through them


def task_status_value(training: Any, task: Task) -> int:
    """A task's PaddleX status, refined by its latest evaluate/export job (XEVALUATED, XEXPORTED...)."""
    if task.kind not in PADDLEX_TASK_KINDS:
        return task_status(task).value
    return task_status(task, lambda kind: training.child(task.id, kind)).value


def task_attr(training: Any, task: Task) -> dict[str, Any]:
    """PaddleX's task ``attr`` (task lists and ``/workspace``)."""
    return {
        "id": task.id,
        "name": task.name,
        "desc": task.notes,
        "pid": task.project_id or "",
        "path": task.path,
        "create_time": paddlex_time(task.created_at),
        "status": task_status_value(training, task),
        "type": task.config.get("task_type", task.kind),
    }


def project_attr(projects: ProjectService, training: Any, project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "desc": project.description,
        "type": project.project_type,
        "did": project.dataset_id or "",
        "path": project.path,
        "create_time": paddlex_time(project.created_at),
        "tasks": [
            task_status_value(training, t)
            for t in projects.project_tasks(project.id)
            if t.kind in PADDLEX_TASK_KINDS
        ],
    }


def renamed_fields(changes: dict[str, Any]) -> dict[str, Any]:
    """PaddleX's ``name`` / ``desc`` attributes as store columns."""
    return {
        column: changes[key] for key, column in (("name", "name"), ("desc", "description")) if key in changes
    }


class PaddleXSystemHandler(PaddleXHandler):
    @operation(
        "PaddleX: machine_info (cpu_num, gpu_num, sysstr) or gpu_memory_size",
        request=SystemArgs,
        response=SystemReply,
        tag="paddlex",
    )
    def get(self) -> None:
        kind = self.arguments(SystemArgs).type
        if kind == "machine_info":
            training = self.trio.trainer_env.status()
            self.ok(
                info={
                    "message": "ok" if training.available else training.reason,
                    "cpu_num": os.cpu_count() or 1,
                    "gpu_num": len(self.trio.gpu_list),
                    "sysstr": platform.system(),
                    "training_available": training.available,
                    "paddle_version": training.paddle_version,
                }
            )
        else:
            memory = self.trio.tasks.gpu_memory()
            self.ok(gpu_mem_infos=[{k: g[k] for k in ("free", "used", "total")} for g in memory])


class PaddleXDatasetHandler(PaddleXHandler):
    @operation(
        "PaddleX: one dataset (did) or all datasets",
        request=DatasetQuery,
        response=DatasetReply,
        tag="paddlex",
    )
    def get(self) -> None:
        args, svc = self.arguments(DatasetQuery), self.trio.projects
        if args.did:
            d = svc.dataset(args.did)
            self.ok(
                id=d.id,
                dataset_status=DATASET_STATUS[d.status].value,
                message=d.message,
                attr=dataset_attr(self.trio.projects, d),
            )
            return
        self.ok(
            datasets=[
                {"id": d.id, "attr": dataset_attr(self.trio.projects, d, with_status=True)}
                for d in svc.datasets()
            ]
        )

    @operation(
        "PaddleX: create a dataset (name, desc, dataset_type)",
        request=DatasetCreate,
        response=DatasetCreated,
        tag="paddlex",
    )
    def post(self) -> None:
        args = self.arguments(DatasetCreate)
        d = self.trio.projects.create_dataset(self.username, args.name, args.desc, args.dataset_type)
        self.ok(did=d.id)

    @operation(
        "PaddleX: import data into a dataset from a server folder (did, path); asynchronous",
        request=DatasetImport,
        tag="paddlex",
    )
    def put(self) -> None:
        args = self.arguments(DatasetImport)
        self.trio.dataset_importer.start(self.trio.projects.dataset(args.did), args.path)
        self.ok()

    @operation("PaddleX: delete a dataset (did)", request=DatasetRef, tag="paddlex")
    def delete(self) -> None:
        self.trio.projects.delete_dataset(self.arguments(DatasetRef).did)
        self.ok()


class PaddleXDatasetSplitHandler(PaddleXHandler):
    @operation(
        "PaddleX: split an imported dataset (did, val_split, test_split); seeded and stratified",
        request=DatasetSplit,
        tag="paddlex",
    )
    def put(self) -> None:
        args = self.arguments(DatasetSplit)
        self.trio.projects.split_dataset(args.did, args.val_split, args.test_split, args.seed)
        self.ok()


class PaddleXDatasetDetailsHandler(PaddleXHandler):
    @operation(
        "PaddleX: files, labels and splits of an imported dataset (did)",
        request=DatasetRef,
        response=DatasetDetailsReply,
        tag="paddlex",
    )
    def get(self) -> None:
        self.ok(details=asdict(self.trio.projects.dataset_details(self.arguments(DatasetRef).did)))


class PaddleXProjectHandler(PaddleXHandler):
    @operation(
        "PaddleX: one project (id) or all projects",
        request=ProjectQuery,
        response=ProjectReply,
        tag="paddlex",
    )
    def get(self) -> None:
        args, svc = self.arguments(ProjectQuery), self.trio.projects
        if args.id:
            self.ok(attr=project_attr(svc, self.trio.training, svc.project(args.id)))
            return
        self.ok(
            projects=[{"id": p.id, "attr": project_attr(svc, self.trio.training, p)} for p in svc.projects()]
        )

    @operation(
        "PaddleX: create a project (name, desc, project_type)",
        request=ProjectCreate,
        response=ProjectCreated,
        tag="paddlex",
    )
    def post(self) -> None:
        args = self.arguments(ProjectCreate)
        p = self.trio.projects.create_project(self.username, args.name, args.desc, args.project_type)
        self.ok(pid=p.id)

    @operation("PaddleX: delete a project and its tasks (pid)", request=ProjectRef, tag="paddlex")
    def delete(self) -> None:
        self.trio.projects.delete_project(self.arguments(ProjectRef).pid)
        self.ok()


class PaddleXWorkspaceHandler(PaddleXHandler):
    """GET without arguments: the workspace folder; with struct/id/attr_list: those attributes."""

    def _attrs(self, struct: str, oid: str) -> dict[str, Any]:
        svc = self.trio.projects
        if struct == "dataset":
            return dataset_attr(self.trio.projects, svc.dataset(oid), with_status=True)
        if struct == "project":
            return project_attr(svc, self.trio.training, svc.project(oid))
        if struct == "task":
            return task_attr(self.trio.training, self.trio.tasks.get(oid))
        raise ValidationFailed(f"struct must be dataset, project or task, not {struct!r}")

    @operation(
        "PaddleX: workspace dirname, or attributes of a dataset/project/task",
        request=WorkspaceQuery,
        response=WorkspaceReply,
        tag="paddlex",
    )
    def get(self) -> None:
        args = self.arguments(WorkspaceQuery)
        if not args.struct:
            self.ok(dirname=str(self.trio.workspace_files.root))
            return
        if not args.id:
            raise ValidationFailed("id is required with struct")
        attrs = self._attrs(args.struct, args.id)
        wanted = args.attr_list or list(attrs)
        if isinstance(wanted, str):
            wanted = [wanted]
        missing = [a for a in wanted if a not in attrs]
        if missing:
            raise ValidationFailed(f"attr_list: unknown attribute(s) {', '.join(missing)} of a {args.struct}")
        self.ok(attr={a: attrs[a] for a in wanted})

    @operation(
        "PaddleX: change attributes (bind a dataset to a project with attr_dict.did)",
        request=WorkspaceChange,
        tag="paddlex",
    )
    def put(self) -> None:
        args = self.arguments(WorkspaceChange)
        struct, oid, changes = args.struct, args.id, args.attr_dict
        svc = self.trio.projects
        editable = {"dataset": {"name", "desc"}, "project": {"name", "desc", "did"}, "task": {"name", "desc"}}
        if struct not in editable:
            raise ValidationFailed(f"struct must be dataset, project or task, not {struct!r}")
        unknown = set(changes) - editable[struct]
        if unknown:
            raise ValidationFailed(f"attr_dict: {', '.join(sorted(unknown))} cannot be changed on a {struct}")
        if struct == "project":
            svc.project(oid)
            if "did" in changes:
                svc.bind_dataset(oid, changes["did"])
            svc.update_project(oid, **renamed_fields(changes))
        elif struct == "dataset":
            svc.update_dataset(oid, **renamed_fields(changes))
        else:
            task = self.trio.tasks.get(oid)
            if "name" in changes:
                self.trio.tasks.rename(task.id, changes["name"])
            if "desc" in changes:
                self.trio.tasks.set_notes(task.id, str(changes["desc"]))
        self.ok()

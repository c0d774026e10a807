"""Datasets and projects: the service both the PaddleX dialect and the native API call.

Creating, listing, binding and deleting; importing and splitting live in dataset_import.py.
"""

from __future__ import annotations

import shutil
from typing import Any

from ..domain import Dataset, Project, Task, TaskQuery
from ..errors import Conflict, NotFound, ValidationFailed
from ..runner.service import Runner
from ..store import Store
from ..vocabulary import DATASET_TYPES, IMPORTING, project_type
from .dataset_import import DatasetDetails, details, split_dataset


class ProjectService:
    def __init__(self, store: Store, runner: Runner):
        self.store = store
        self.runner = runner

    # ---- datasets
    def create_dataset(self, owner: str, name: str, description: str, dataset_type: str) -> Dataset:
        if not name or not name.strip():
            raise ValidationFailed("name: a dataset needs a name")
        if dataset_type not in DATASET_TYPES:
            raise ValidationFailed(f"dataset_type: {dataset_type!r} is not one of {', '.join(DATASET_TYPES)}")
        dataset = self.store.datasets.create(owner, name.strip(), description or "", dataset_type)
        (self.store.root / dataset.path).mkdir(parents=True, exist_ok=True)
        return dataset

    def dataset(self, did: str) -> Dataset:
        dataset = self.store.datasets.get(did or "")
        if dataset is None:
            raise NotFound(f"no such dataset: {did!r}")
        return dataset

    def datasets(self) -> list[Dataset]:
        return self.store.datasets.list()

    def dataset_project_ids(self, did: str) -> list[str]:
        return self.store.datasets.project_ids(did)

    def update_dataset(self, did: str, **fields: Any) -> Dataset:
        """Rename or re-describe a dataset (``name``, ``description``)."""
        self.dataset(did)
        if fields:
            self.store.datasets.update(did, **fields)
        return self.dataset(did)

    def split_dataset(self, did: str, val_split: float, test_split: float, seed: int = 0) -> Dataset:
        split_dataset(self.store, self.dataset(did), val_split, test_split, seed)
        return self.dataset(did)

    def dataset_details(self, did: str) -> DatasetDetails:
        return details(self.store, self.dataset(did))

    def delete_dataset(self, did: str) -> None:
        dataset = self.dataset(did)
        if dataset.status in IMPORTING:
            raise Conflict(f"dataset {did} is being imported; wait for the import to end")
        self.store.datasets.delete(did)  # projects bound to it keep existing, unbound (ON DELETE SET NULL)
        shutil.rmtree(self.store.root / dataset.path, ignore_errors=True)

    # ---- projects
    def create_project(self, owner: str, name: str, description: str, type_: int | str) -> Project:
        if not name or not name.strip():
            raise ValidationFailed("name: a project needs a name")
        try:
            kind = project_type(type_)
        except ValueError as exc:
            raise ValidationFailed(f"project_type: {exc}") from None
        project = self.store.projects.create(owner, name.strip(), description or "", kind)
        (self.store.root / project.path).mkdir(parents=True, exist_ok=True)
        return project

    def project(self, pid: str) -> Project:
        project = self.store.projects.get(pid or "")
        if project is None:
            raise NotFound(f"no such project: {pid!r}")
        return project

    def projects(self) -> list[Project]:
        return self.store.projects.list()

    def project_tasks(self, pid: str) -> list[Task]:
        tasks, _ = self.store.tasks.list(TaskQuery(project_id=pid, limit=100_000, descending=False))
        return tasks

    def bind_dataset(self, pid: str, did: str) -> Project:
        project, dataset = self.project(pid), self.dataset(did)
        if dataset.dataset_type != project.project_type:
            raise ValidationFailed(
                f"did: dataset {did} is a {dataset.dataset_type} dataset; project {pid} is "
                f"{project.project_type}"
            )
        self.store.projects.update(pid, dataset_id=did)
        return self.project(pid)

    def update_project(self, pid: str, **fields: Any) -> Project:
        """Rename or re-describe a project (``name``, ``description``)."""
        self.project(pid)
        if fields:
            self.store.projects.update(pid, **fields)
        return self.project(pid)

    def delete_project(self, pid: str) -> None:
        """Delete a project and its tasks; running tasks are cancelled (killed) first."""
        project = self.project(pid)
        for task in self.project_tasks(pid):
            self.runner.kill_now(task)
            shutil.rmtree(self.store.layout.task_dir(task.id), ignore_errors=True)
        self.store.projects.delete(pid)  # tasks go with it (ON DELETE CASCADE)
        shutil.rmtree(self.store.root / project.path, ignore_errors=True)

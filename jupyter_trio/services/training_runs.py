"""Training runs as the RestClient sees them: train and prune tasks with their newest checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..errors import Conflict, NotFound, ValidationFailed
from ..store import Store
from ..store.tasks import TaskQuery
from ..trainers.checkpoints import checkpoint_kind, read_state
from ..vocabulary import RUN_KINDS, failure_reason
from .checkpoints import CheckpointService, folder_size, tinker_path, trio_path
from .projects import ProjectService
from .training import TrainingService


def utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def checkpoint_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "checkpoint_id": row["id"],
        "checkpoint_type": row["kind"],
        "time": utc(row["created_at"]),
        "trio_path": trio_path(row["task_id"], row["kind"], row["id"]),
        "tinker_path": tinker_path(row["task_id"], row["kind"], row["id"]),
        "size_bytes": row["size_bytes"],
        "training_run_id": row["task_id"],
        "epoch": row["epoch"],
        "metrics": row["metrics"],
    }


class TrainingRunService:
    def __init__(
        self,
        store: Store,
        training: TrainingService,
        projects: ProjectService,
        checkpoints: CheckpointService,
    ):
        self.store = store
        self.training = training
        self.projects = projects
        self.checkpoints = checkpoints

    def owned(self, run_id: str, owner: str) -> dict[str, Any]:
        """The run, if ``owner``'s (another user's run is as absent as a missing one)."""
        task = self.checkpoints.run(run_id)
        if task["owner"] != owner:
            raise NotFound(f"no such training run: {run_id!r}")
        return task

    def view(self, task: dict[str, Any], checkpoints: list[dict[str, Any]]) -> dict[str, Any]:
        last = {
            kind: max(
                (c for c in checkpoints if c["kind"] == kind), key=lambda c: c["created_at"], default=None
            )
            for kind in ("training", "sampler")
        }
        params, config = task["params"], task["config"]
        times = [t for t in (task["updated_at"], task.get("started_at"), task.get("ended_at")) if t]
        return {
            "training_run_id": task["id"],
            "base_model": params.get("model", ""),
            "model_owner": task["owner"],
            "corrupted": task["status"] in ("failed", "interrupted"),
            "last_request_time": utc(max(times)),
            "last_checkpoint": checkpoint_view(last["training"]) if last["training"] else None,
            "last_sampler_checkpoint": checkpoint_view(last["sampler"]) if last["sampler"] else None,
            "status": task["status"],
            "error": failure_reason(task),
            "session_id": task["session_id"],
            "metadata": {
                "kind": task["kind"],
                "task_type": config.get("task_type", ""),
                "project_id": task["project_id"],
                "dataset_id": config.get("dataset_id"),
                "description": task["notes"],
                "num_epochs": params.get("num_epochs"),
                "run_index": task["last_run"],
                "parent_id": task["parent_id"],
                "created_at": utc(task["created_at"]),
            },
        }

    def weights_info(self, path: str) -> dict[str, Any]:
        """What a checkpoint path (trio:// or tinker://), kept model id or checkpoint folder holds."""
        folder, run = self.checkpoints.folder_for(path)
        try:
            state = read_state(folder)
        except (OSError, ValueError):
            raise NotFound(f"{folder.name} has no readable state.json") from None
        kind = checkpoint_kind(folder, state)
        return {
            "path": path,
            "base_model": state.get("params", {}).get("model", ""),
            "task_type": state.get("task_type", ""),
            "checkpoint_type": kind,
            "training_run_id": run["id"] if run else None,
            "checkpoint_id": folder.name if run and folder.parent.name == "checkpoints" else None,
            "epoch": state.get("epoch"),
            "labels": state.get("labels", []),
            "num_parameters": state.get("num_parameters"),
            "metrics": state.get("eval_metrics", {}),
            "size_bytes": folder_size(folder),
            "time": utc(state.get("time")),
        }

    def get(self, run_id: str, owner: str) -> dict[str, Any]:
        task = self.owned(run_id, owner)
        return self.view(task, self.checkpoints.sync(task))

    def page(
        self, owner: str, limit: int, offset: int, project_id: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """Oldest first: runs created while a client pages land after the pages it has read."""
        self.checkpoints.sync_all(active_only=True)
        tasks, total = self.store.tasks.list(
            TaskQuery(
                owner=owner,
                kinds=RUN_KINDS,
                descending=False,
                limit=limit,
                offset=offset,
                project_id=project_id,
            )
        )
        by_task = self.store.checkpoints.for_tasks([t["id"] for t in tasks])
        return [self.view(t, by_task.get(t["id"], [])) for t in tasks], total

    def checkpoints_of(self, run_id: str, owner: str) -> list[dict[str, Any]]:
        return [checkpoint_view(c) for c in self.checkpoints.sync(self.owned(run_id, owner))]

    def create(
        self,
        owner: str,
        *,
        project_id: str | None,
        dataset_id: str | None,
        params: dict | None,
        description: str,
        session_id: str | None,
        start: bool,
    ) -> dict[str, Any]:
        if bool(project_id) == bool(dataset_id):
            raise ValidationFailed("give exactly one of project_id or dataset_id")
        if session_id and self.store.sessions.get(session_id) is None:
            raise NotFound(f"no such session: {session_id!r}")
        if start:  # refuse before anything is made when the run could not start
            self.training.trainer.require("training")
        if dataset_id:
            dataset = self.projects.dataset(dataset_id)
            if dataset["status"] != "split":
                raise Conflict(
                    f"dataset {dataset_id} is not split yet (status {dataset['status']}); split it first"
                )
            project = self.projects.create_project(
                owner, f"{dataset['name']} runs", description, dataset["dataset_type"]
            )
            project_id = self.projects.bind_dataset(project["id"], dataset_id)["id"]
        task = self.training.create(owner, project_id, params, description)  # type: ignore[arg-type]
        if session_id:
            self.store.tasks.update(task["id"], session_id=session_id)
            self.store.sessions.touch(session_id)
        if start:
            self.training.start(task["id"])
        return self.get(task["id"], owner)

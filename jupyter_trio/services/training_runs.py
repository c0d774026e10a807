"""Training runs as the RestClient sees them: train and prune tasks with their newest checkpoints."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import Checkpoint, DatasetState, Task, TaskQuery, WeightsFacts
from ..errors import Conflict, NotFound, ValidationFailed
from ..store import Store
from ..trainers.checkpoints import checkpoint_kind, read_state
from ..vocabulary import RUN_KINDS
from .checkpoints import CheckpointService, folder_size
from .projects import ProjectService
from .training import TrainingService


@dataclass(frozen=True, slots=True)
class TrainingRunView:
    """A training run (a train or prune task) with its checkpoints, for the v1 dialect to render."""

    task: Task
    checkpoints: list[Checkpoint]


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

    def owned(self, run_id: str, owner: str) -> Task:
        """The run, if ``owner``'s (another user's run is as absent as a missing one)."""
        task = self.checkpoints.run(run_id)
        if task.owner != owner:
            raise NotFound(f"no such training run: {run_id!r}")
        return task

    def weights_info(self, path: str) -> WeightsFacts:
        """What a checkpoint path (trio:// or tinker://), kept model id or checkpoint folder holds."""
        folder, run = self.checkpoints.folder_for(path)
        try:
            state = read_state(folder)
        except (OSError, ValueError):
            raise NotFound(f"{folder.name} has no readable state.json") from None
        kind = checkpoint_kind(folder, state)
        return WeightsFacts(
            path=path,
            base_model=state.get("params", {}).get("model", ""),
            task_type=state.get("task_type", ""),
            checkpoint_type=kind,
            training_run_id=run.id if run else None,
            checkpoint_id=folder.name if run and folder.parent.name == "checkpoints" else None,
            epoch=state.get("epoch"),
            labels=state.get("labels", []),
            num_parameters=state.get("num_parameters"),
            metrics=state.get("eval_metrics", {}),
            size_bytes=folder_size(folder),
            time=state.get("time"),
        )

    def get(self, run_id: str, owner: str) -> TrainingRunView:
        task = self.owned(run_id, owner)
        return TrainingRunView(task, self.checkpoints.sync(task))

    def page(
        self, owner: str, limit: int, offset: int, project_id: str | None = None
    ) -> tuple[list[TrainingRunView], int]:
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
        by_task = self.store.checkpoints.for_tasks([t.id for t in tasks])
        return [TrainingRunView(t, by_task.get(t.id, [])) for t in tasks], total

    def checkpoints_of(self, run_id: str, owner: str) -> list[Checkpoint]:
        return self.checkpoints.sync(self.owned(run_id, owner))

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
    ) -> TrainingRunView:
        if bool(project_id) == bool(dataset_id):
            raise ValidationFailed("give exactly one of project_id or dataset_id")
        if session_id and self.store.sessions.get(session_id) is None:
            raise NotFound(f"no such session: {session_id!r}")
        if start:  # refuse before anything is made when the run could not start
            self.training.trainer.require("training")
        if dataset_id:
            dataset = self.projects.dataset(dataset_id)
            if dataset.status != DatasetState.SPLIT:
                raise Conflict(
                    f"dataset {dataset_id} is not split yet (status {dataset.status}); split it first"
                )
            project = self.projects.create_project(
                owner, f"{dataset.name} runs", description, dataset.dataset_type
            )
            project_id = self.projects.bind_dataset(project.id, dataset_id).id
        task = self.training.create(owner, project_id, params, description)  # type: ignore[arg-type]
        if session_id:
            self.store.tasks.update(task.id, session_id=session_id)
            self.store.sessions.touch(session_id)
        if start:
            self.training.start(task.id)
        return self.get(task.id, owner)

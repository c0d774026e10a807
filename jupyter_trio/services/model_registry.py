"""The model registry: named models with numbered versions, aliases and lineage.

A version is registered from what a training run left — a checkpoint (``trio://<run>/weights/<id>``, or the
Tinker SDK's ``tinker://`` form) or kept weights (a pretrained copy ``PM0001`` or an export ``EM0001``) — and
keeps where it came from, so its lineage reads back: run → checkpoint → export → model version. Aliases
(``production``, ``candidate``) name one version each and move when set again. The kept weights and the
checkpoints stay where they are: a version points at them, as MLflow's registry points at a run's artifacts.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from ..domain import ModelVersion, RegisteredModel, WeightsKind
from ..errors import Conflict, NotFound, ValidationFailed
from ..store import Store
from .checkpoints import SCHEMES, CheckpointService

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")  # never all digits: a reference is a number or an alias


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a model version came from, oldest first: the run, its checkpoint, the export, the version."""

    steps: tuple[dict[str, Any], ...]


class ModelRegistry:
    def __init__(self, store: Store, checkpoints: CheckpointService):
        self.store = store
        self.repo = store.registry
        self.checkpoints = checkpoints

    # ---- models
    def models(self) -> list[RegisteredModel]:
        return self.repo.models()

    def model(self, name: str) -> RegisteredModel:
        found = self.repo.model(name)
        if found is None:
            raise NotFound(f"no registered model {name!r}")
        return found

    def create(self, owner: str, name: str, description: str = "") -> RegisteredModel:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ValidationFailed(
                "name: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        if not self.repo.create_model(name, owner, description):
            raise Conflict(f"a registered model named {name!r} exists already")
        return self.model(name)

    def delete(self, name: str) -> None:
        """Forget the model, its versions and aliases (the checkpoints and kept weights stay)."""
        self.model(name)
        self.repo.delete_model(name)

    # ---- versions
    def versions(self, name: str) -> list[ModelVersion]:
        self.model(name)
        return self.repo.versions(name)

    def register(self, owner: str, name: str, source: str, description: str = "") -> ModelVersion:
        """The model's next version, made from ``source``: a checkpoint path or a kept model's id. The model
        is made on first use (as MLflow's ``register_model`` does)."""
        if not isinstance(source, str) or not source.strip():
            raise ValidationFailed("source: a checkpoint path (trio://<run>/weights/<id>) or a kept model id")
        version = self._from_source(owner, name, source.strip(), description)
        if self.repo.model(name) is None:
            if not NAME.fullmatch(name):
                raise ValidationFailed("name: 1 to 128 letters, digits, '.', '_' or '-'")
            self.repo.create_model(name, owner, "")
        number = self.repo.add_version(version)
        return self.repo.version(name, number)  # type: ignore[return-value]

    def _from_source(self, owner: str, name: str, source: str, description: str) -> ModelVersion:
        now = time.time()
        if source.startswith(SCHEMES):
            found = self.checkpoints.locate_path(source)
            return ModelVersion(
                name=name,
                version=0,
                owner=owner,
                source=source,
                created_at=now,
                task_id=found.task.id,
                run_index=found.row.run_index,
                checkpoint=found.row.id,
                epoch=found.row.epoch,
                description=description,
            )
        weights = self.store.weights.get(source)
        if weights is None:
            raise NotFound(
                f"source: {source!r} is no checkpoint path (trio://<run>/weights/<id>) and no kept model"
            )
        if weights.status == "save_failed":
            raise Conflict(
                f"source: kept model {weights.id} failed: {weights.attrs.get('error', 'no reason kept')}"
            )
        task = self.store.tasks.get(weights.task_id or "")
        export = weights.kind == WeightsKind.EXPORTED
        job = (
            self.store.tasks.get(weights.attrs.get("export_job") or f"{weights.task_id}-export")
            if export
            else None
        )
        epoch = weights.attrs.get("epoch")
        if export and job is not None and isinstance(job.config.get("epoch"), int):
            epoch = job.config["epoch"]
        return ModelVersion(
            name=name,
            version=0,
            owner=owner,
            source=source,
            created_at=now,
            weights_id=weights.id,
            task_id=task.id if task else None,
            run_index=task.run_index if task else None,
            checkpoint="" if export else f"epoch_{epoch}" if isinstance(epoch, int) else "best_model",
            epoch=epoch if isinstance(epoch, int) else None,
            export_path=weights.path if export else "",
            description=description,
        )

    def version(self, name: str, ref: str | int) -> ModelVersion:
        """A version by its number or an alias (``production``)."""
        self.model(name)
        text = str(ref)
        number = int(text) if text.isdigit() else self.repo.alias(name, text)
        found = self.repo.version(name, number) if number is not None else None
        if found is None:
            raise NotFound(f"model {name!r} has no version or alias {text!r}")
        return found

    # ---- aliases
    def set_alias(self, name: str, alias: str, version: int) -> ModelVersion:
        if not isinstance(alias, str) or not ALIAS.fullmatch(alias):
            raise ValidationFailed(
                "alias: a letter, then up to 63 letters, digits, '_' or '-' (e.g. production)"
            )
        target = self.version(name, int(version))
        self.repo.set_alias(name, alias, target.version)
        return self.repo.version(name, target.version)  # type: ignore[return-value]

    def delete_alias(self, name: str, alias: str) -> None:
        self.model(name)
        if not self.repo.delete_alias(name, alias):
            raise NotFound(f"model {name!r} has no alias {alias!r}")

    # ---- lineage
    def lineage(self, version: ModelVersion) -> Lineage:
        steps: list[dict[str, Any]] = []
        task = self.store.tasks.get(version.task_id) if version.task_id else None
        if task is not None:
            run = self.store.tasks.run(task.id, version.run_index) if version.run_index else None
            steps.append(
                {
                    "kind": "run",
                    "task": task.name,
                    "task_id": task.id,
                    "run_index": version.run_index,
                    "status": run.status if run else task.status,
                    "project_id": task.project_id,
                    "params": dict(task.params),
                }
            )
        elif version.task_id:
            steps.append({"kind": "run", "task_id": version.task_id, "deleted": True})
        if version.checkpoint and version.task_id:
            row = self.store.checkpoints.get(version.task_id, version.checkpoint)
            steps.append(
                {
                    "kind": "checkpoint",
                    "id": version.checkpoint,
                    "epoch": version.epoch,
                    "path": row.trio_path if row else "",
                    "metrics": dict(row.metrics) if row else {},
                    "deleted": row is None,
                }
            )
        if version.weights_id:
            weights = self.store.weights.get(version.weights_id)
            steps.append(
                {
                    "kind": "export" if version.export_path else "weights",
                    "id": version.weights_id,
                    "path": weights.path if weights else version.export_path,
                    "status": weights.status if weights else "deleted",
                }
            )
        steps.append({"kind": "model_version", "name": version.name, "version": version.version})
        return Lineage(tuple(steps))

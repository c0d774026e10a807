"""Models the user keeps (PaddleX's /model): pretrained models saved from train tasks, and exported models.

Saving a pretrained model copies a checkpoint's weights (the best by default) into ``weights/PM0001/``
with what it was trained on (dataset attributes, parameters, evaluation), so later tasks can start from
it (``pretrain_weights: "weights/PM0001"``). An exported model registers a folder written by an export
(``export.json`` + the inference model) in place; deleting it forgets the registration and keeps the
files, deleting a pretrained model removes its copy.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..domain import JSONObject, ScheduledRun, Task, Weights, WeightsKind, WeightsState
from ..errors import Conflict, NotFound, ValidationFailed
from ..store import Store, resolve_inside
from ..trainers.checkpoints import checkpoint_dir, has_state, has_weights, read_state
from ..vocabulary import ACTIVE
from .projects import ProjectService


def workspace_path(store: Store, path: str, what: str) -> Path:
    if not path:
        raise ValidationFailed(f"{what} is required")
    return resolve_inside(store.root, path)


class WeightsService:
    def __init__(self, store: Store, projects: ProjectService):
        self.store = store
        self.projects = projects

    def get(self, mid: str) -> Weights:
        model = self.store.weights.get(mid or "")
        if model is None:
            raise NotFound(f"no such model: {mid!r}")
        return model

    def owned(self, wid: str, owner: str) -> Weights:
        """``owner``'s kept weights with files (another user's are as absent as missing ones)."""
        model = self.store.weights.get(wid or "")
        if model is None or model.owner != owner or not model.path:
            raise NotFound(f"no such weights: {wid!r}")
        return model

    def page(self, owner: str, limit: int, offset: int) -> tuple[list[Weights], int]:
        return self.store.weights.page(owner, limit, offset)

    def folder(self, wid: str) -> Path:
        """The folder kept weights live in (for an archive download)."""
        model = self.store.weights.get(wid or "")
        folder = self.store.root / model.path if model and model.path else None
        if folder is None or not folder.is_dir():
            raise NotFound(f"weights {wid!r} are gone")
        return folder

    def list(self, kind: str | None = None) -> list[Weights]:
        if kind not in (None, "pretrained", "exported"):
            raise ValidationFailed(f"type must be pretrained or exported, not {kind!r}")
        return self.store.weights.list(kind)

    def _task(self, tid: str, pid: str | None) -> Task:
        task = self.store.tasks.get(tid or "")
        if task is None or task.kind not in ("train", "prune"):
            raise NotFound(f"no such training task: {tid!r}")
        if pid and task.project_id != pid:
            raise ValidationFailed(f"tid: task {tid} is not in project {pid}")
        return task

    def _context(self, task: Task) -> JSONObject:
        """What kept weights record of the task they came from (in their ``attrs``)."""
        project = self.projects.project(task.project_id)
        dataset = self.store.datasets.get(task.config.get("dataset_id", ""))
        return {
            "task_type": task.config["task_type"],
            "project_id": project.id,
            "dataset_attr": {
                "id": dataset.id,
                "name": dataset.name,
                "dataset_type": dataset.dataset_type,
                "path": dataset.path,
            }
            if dataset
            else {},
            "task_params": task.params,
        }

    def save_pretrained(
        self,
        owner: str,
        tid: str,
        name: str,
        pid: str | None = None,
        source_path: str | None = None,
        epoch: int | None = None,
        eval_results: dict | None = None,
    ) -> Weights:
        task = self._task(tid, pid)
        if source_path:
            source = workspace_path(self.store, source_path, "source_path")
            if not has_weights(source):
                raise ValidationFailed(f"source_path: {source_path} holds no model.pdparams")
        else:
            try:
                source = checkpoint_dir(self.store.layout.task_dir(task.id), epoch)
            except FileNotFoundError as exc:
                raise Conflict(str(exc)) from None
        state = read_state(source) if has_state(source) else {}
        evaluation = eval_results if eval_results is not None else state.get("eval_metrics", {})
        model = self.store.weights.create(
            owner,
            WeightsKind.PRETRAINED,
            name or f"{task.id} model",
            task.id,
            state.get("params", task.params).get("model", ""),
            WeightsState.SAVING,
            "",
            {
                **self._context(task),
                "eval_result": evaluation,
                "labels": state.get("labels"),
                "epoch": state.get("epoch"),
            },
        )
        target = self.store.root / "weights" / model.id
        try:
            shutil.copytree(source, target)
        except OSError as exc:
            self.store.weights.update(
                model.id, status=WeightsState.SAVE_FAILED, attrs={**model.attrs, "error": str(exc)}
            )
            raise Conflict(f"saving the model failed: {exc}") from None
        self.store.weights.update(
            model.id, status=WeightsState.SAVED, path=self.store.layout.relative(target)
        )
        return self.get(model.id)

    def register_exported(
        self, owner: str, tid: str, name: str, path: str, exported_type: int = 0, pid: str | None = None
    ) -> Weights:
        task = self._task(tid, pid)
        if exported_type not in (0, 1):
            raise ValidationFailed("exported_type must be 0 (inference model) or 1 (lite model)")
        if exported_type == 1:
            raise ValidationFailed("lite models are not supported on this server (no Paddle-Lite build)")
        folder = workspace_path(self.store, path, "path")
        if not (folder / "export.json").is_file():
            job = self._export_running_into(task, folder)
            if job is None:
                raise ValidationFailed(
                    f"path: {path} is not an exported model (no export.json), and no export of {task.id} "
                    "into it is running"
                )
            # PaddleX's web client registers the model right after starting the export, as PaddleX allowed:
            # kept as saving, made ready (or failed, with the reason) when the export job ends
            return self.store.weights.create(
                owner,
                WeightsKind.EXPORTED,
                name or f"{task.id} export",
                task.id,
                "",
                WeightsState.SAVING,
                self.store.layout.relative(folder),
                {**self._context(task), "exported_type": exported_type, "export_job": job.id},
            )
        meta = json.loads((folder / "export.json").read_text())
        return self.store.weights.create(
            owner,
            WeightsKind.EXPORTED,
            name or f"{task.id} export",
            task.id,
            meta.get("model", ""),
            WeightsState.SAVED,
            self.store.layout.relative(folder),
            {**self._context(task), "export": meta, "exported_type": exported_type},
        )

    def _export_running_into(self, task: Task, folder: Path) -> Task | None:
        """The export job of ``task`` queued or running into ``folder``, if there is one."""
        job = self.store.tasks.get(f"{task.id}-export")
        save_dir = job.config.get("save_dir") if job is not None else None
        if job is None or job.status not in ACTIVE or not isinstance(save_dir, str):
            return None
        return job if os.path.realpath(save_dir) == os.path.realpath(folder) else None

    def export_ended(self, item: ScheduledRun) -> None:
        """A Runner.on_finish hook: the registrations waiting for this export job are ready or failed."""
        if item.kind == "export":
            self.settle_exports(item.run.task_id)

    def settle_exports(self, job_id: str | None = None) -> None:
        """Registrations of an export in progress whose job has ended (``job_id``'s, or any: at start-up,
        for exports that ended while no server ran): ready with the export's description, or failed."""
        for model in self.store.weights.list(WeightsKind.EXPORTED):
            waiting_on = model.attrs.get("export_job")
            if model.status != WeightsState.SAVING or not waiting_on or job_id not in (None, waiting_on):
                continue
            job = self.store.tasks.get(waiting_on)
            if job is not None and job.status in ACTIVE:
                continue
            meta_file = self.store.root / model.path / "export.json"
            if job is not None and job.status == "completed" and meta_file.is_file():
                meta = json.loads(meta_file.read_text())
                self.store.weights.update(
                    model.id,
                    status=WeightsState.SAVED,
                    model_type=meta.get("model", ""),
                    attrs={**model.attrs, "export": meta},
                )
                continue
            why = (
                "its export job was deleted"
                if job is None
                else job.failure_reason or f"the export {job.status} without writing export.json"
            )
            self.store.weights.update(
                model.id, status=WeightsState.SAVE_FAILED, attrs={**model.attrs, "error": why}
            )

    def delete(self, mid: str, kind: str | None = None) -> None:
        model = self.get(mid)
        if kind is not None and model.kind != kind:
            raise ValidationFailed(f"{mid} is a {model.kind} model, not {kind}")
        self.store.weights.delete(mid)
        if model.kind == WeightsKind.PRETRAINED and model.path:
            shutil.rmtree(self.store.root / model.path, ignore_errors=True)

"""Train tasks of projects: create with validated parameters, start, stop, resume from a saved epoch.

A train task is a runner task of kind ``train``: its frozen config.yaml says what the job
(``jupyter_trio.trainers.job``) trains — task type, the dataset folder and the parameters — and each
start, stop or resume is a run slot of it. Resuming writes ``resume.json`` naming the run and the epoch
the job must continue from. Everything here is shared by the PaddleX dialect and the native API.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from ..domain import Dataset, DatasetState, NewTask, Project, ProjectType, Run, Task
from ..errors import Conflict, NotFound, ValidationFailed
from ..runner.service import Runner
from ..store import Store
from ..store.task_files import rewrite_config
from ..trainers import rasters
from ..trainers.checkpoints import has_weights, saved_epochs
from ..trainers.params import CommonParams, validate
from ..trainers.recommend import recommended
from ..vocabulary import ACTIVE
from .dataset_import import load_manifest
from .projects import ProjectService
from .trainer_env import TrainerEnvironment
from .weights import workspace_path


class TrainingService:
    def __init__(self, store: Store, runner: Runner, projects: ProjectService, trainer: TrainerEnvironment):
        self.store = store
        self.runner = runner
        self.projects = projects
        self.trainer = trainer

    # ---- parameters
    def _dataset_for(self, project: Project) -> Dataset:
        if not project.dataset_id:
            raise Conflict(f"project {project.id} has no dataset; bind one first (workspace attr_dict did)")
        dataset = self.projects.dataset(project.dataset_id)
        if dataset.status != DatasetState.SPLIT:
            raise Conflict(
                f"dataset {dataset.id} of project {project.id} is not split yet "
                f"(status {dataset.status}); split it before training"
            )
        return dataset

    def recommended(
        self, pid: str, model: str | None = None, gpu_memory_mib: list[int] | None = None
    ) -> CommonParams:
        project = self.projects.project(pid)
        dataset = self._dataset_for(project)
        meta = load_manifest(self.store, dataset)
        sizes = [(s["width"], s["height"]) for s in meta["samples"].values() if "width" in s][:50]
        if not sizes:
            from PIL import Image

            for rel in list(meta["samples"])[:20]:
                with Image.open(self.store.root / dataset.path / rel) as im:
                    sizes.append(im.size)
        median = sorted(sizes)[len(sizes) // 2] if sizes else None
        return recommended(
            project.project_type,
            model=model,
            num_train=len(meta["split"]["train"]),
            num_classes=len(meta["labels"]),
            image_size=median,
            gpu_memory_mib=gpu_memory_mib,
        )

    def recommended_on(self, pid: str, model: str | None, gpu_indices: list[int] | None) -> CommonParams:
        """Recommended parameters for training on these GPUs (PaddleX's ``gpu_list``): the batch size
        follows the memory they have; ``None`` = the CPU."""
        memory = None
        if gpu_indices:
            known = {g.index: g for g in self.runner.gpus}
            missing = [g for g in gpu_indices if g not in known]
            if missing:
                raise ValidationFailed(f"gpu_list: no GPU {missing} on this server")
            memory = [max(1, known[g].memory_total // 2**20) for g in gpu_indices]
        return self.recommended(pid, model, memory)

    def _bands(self, dataset: Dataset) -> int:
        """How many bands the images of a dataset have (3 but for remote sensing)."""
        return load_manifest(self.store, dataset).get("bands", 3)

    def config_for(self, project: Project, params: CommonParams) -> dict[str, Any]:
        dataset = self._dataset_for(project)
        if project.project_type == ProjectType.REMOTE_SEGMENTATION:
            bands = self._bands(dataset)
            for name in ("image_mean", "image_std", "image_min", "image_max"):
                given = getattr(params, name)
                if given is not None and len(given) != bands:
                    raise ValidationFailed(
                        f"{name}: {len(given)} values for images of {bands} bands (leave it out to use "
                        "the dataset's band statistics)"
                    )
        if params.pretrain_weights:  # a weights folder or checkpoint inside the workspace, made absolute
            folder = workspace_path(self.store, params.pretrain_weights, "pretrain_weights")
            if not has_weights(folder) and not folder.name.endswith(".pdparams"):
                raise ValidationFailed(f"pretrain_weights: {params.pretrain_weights} holds no model.pdparams")
            params = params.model_copy(update={"pretrain_weights": str(folder)})
        return {
            "action": "train",
            "task_type": project.project_type,
            "dataset_dir": str(self.store.root / dataset.path),
            "dataset_id": dataset.id,
            "params": params.model_dump(),
        }

    # ---- tasks
    def create(
        self,
        owner: str,
        pid: str,
        train: dict[str, Any] | str | None = None,
        description: str = "",
        parent_id: str | None = None,
        also: Callable[[sqlite3.Connection, str], None] | None = None,
    ) -> Task:
        """A train task, or with ``parent_id`` a prune task: prune the parent's best model by its
        sensitivity analysis, then fine-tune with ``train``'s parameters. ``also(conn, task_id)`` runs in
        the transaction that inserts the task (a sweep records its trial with it: both or neither)."""
        project = self.projects.project(pid)
        parent = self.task(parent_id) if parent_id else None
        if parent is not None and parent.project_id != pid:
            raise ValidationFailed(f"parent_id: task {parent_id} belongs to another project")
        if parent is not None and not train:
            train = parent.params
        params = validate(project.project_type, train) if train else self.recommended(pid)
        config = self.config_for(project, params)
        if parent is not None:
            config.update(
                action="prune",
                parent_task_dir=str(self.store.layout.task_dir(parent.id)),
                parent_epoch=None,
                eval_metric_loss=params.eval_metric_loss,
            )
        with self.store.db.transaction() as conn:
            [task_id] = self.store.tasks.insert_many(
                conn,
                [
                    NewTask(
                        name=f"new-{uuid.uuid4().hex}",
                        kind="prune" if parent_id else "train",
                        owner=owner,
                        config=config,
                        params=params.model_dump(),
                        gpu_count=params.gpu_count,
                        project_id=pid,
                        parent_id=parent_id,
                    )
                ],
            )
            self.store.tasks.name_after_id(conn, task_id, description or "")
            if also is not None:
                also(conn, task_id)
        rewrite_config(self.store.layout, task_id, config)
        return self.store.tasks.get(task_id)

    def task(self, tid: str) -> Task:
        task = self.store.tasks.get(tid or "")
        if task is None or task.kind not in ("train", "prune"):
            raise NotFound(f"no such training task: {tid!r}")
        return task

    def set_params(self, tid: str, train: dict[str, Any] | str) -> Task:
        task = self.task(tid)
        if task.status in ACTIVE:
            raise Conflict(f"task {tid} is {task.status}; stop it before changing its parameters")
        project = self.projects.project(task.project_id)
        params = validate(project.project_type, train)
        config = self.config_for(project, params)
        if task.kind == "prune":  # keep what it prunes; the allowed loss follows the new parameters
            config.update(
                {k: task.config[k] for k in ("action", "parent_task_dir", "parent_epoch")},
                eval_metric_loss=params.eval_metric_loss,
            )
        self.store.tasks.update(
            task.id, config=config, params=params.model_dump(), gpu_count=params.gpu_count
        )
        rewrite_config(self.store.layout, task.id, config)
        return self.store.tasks.get(task.id)

    def start(self, tid: str) -> Task:
        task = self.task(tid)
        self.trainer.require("training")
        (self.store.layout.task_dir(task.id) / "resume.json").unlink(missing_ok=True)
        self.runner.submit(task)
        return self.store.tasks.get(task.id)

    def stop(self, tid: str) -> Run | None:
        return self.runner.cancel(self.task(tid))

    def resume_info(self, tid: str) -> tuple[bool, int]:
        task = self.task(tid)
        epochs = saved_epochs(self.store.layout.task_dir(task.id))
        last = max(epochs, default=0)
        resumable = bool(epochs) and last < task.params.get("num_epochs", 0) and task.status not in ACTIVE
        return resumable, last

    def resume(self, tid: str, epoch: int | None = None, **submit: Any) -> Task:
        """A new run from the saved epoch (the last by default); ``submit`` goes to ``Runner.submit`` (a
        retry's ``retry_of``, ``not_before``, ``message``)."""
        task = self.task(tid)
        epochs = saved_epochs(self.store.layout.task_dir(task.id))
        if not epochs:
            raise Conflict(f"task {tid} has no saved checkpoint to resume from")
        if epoch is None:
            epoch = epochs[-1]
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            raise ValidationFailed("epoch must be an integer")
        if epoch not in epochs:
            raise ValidationFailed(f"epoch: {epoch} was not saved; saved epochs are {epochs}")
        if task.status in ACTIVE:
            raise Conflict(f"task {tid} is {task.status}; stop it first")
        self.trainer.require("training")
        path = self.store.layout.task_dir(task.id) / "resume.json"
        path.write_text(json.dumps({"run": task.run_index + 1, "epoch": epoch}))
        self.runner.submit(task, **submit)
        return self.store.tasks.get(task.id)

    # ---- child jobs of a train task: sensitivity analysis, evaluation, prediction, export. Each is a task
    # of its own kind named "<tid>-<kind>", re-run (a new run slot) each time it is asked for again.
    def child(self, tid: str, kind: str) -> Task | None:
        return self.store.tasks.get(f"{self.task(tid).id}-{CHILD_NAMES[kind]}")

    def start_child(self, owner: str, tid: str, kind: str, **settings: Any) -> Task:
        task = self.task(tid)
        self.trainer.require(
            {
                "analysis": "sensitivity analysis",
                "evaluate": "evaluation",
                "predict": "prediction",
                "export": "export",
            }[kind]
        )
        epochs = saved_epochs(self.store.layout.task_dir(task.id))
        if not epochs:
            raise Conflict(f"task {tid} has no trained checkpoint yet; train it first")
        epoch = settings.get("epoch")
        if epoch is not None and epoch not in epochs:
            raise ValidationFailed(f"epoch: {epoch} was not saved; saved epochs are {epochs}")
        config = {
            "action": CHILD_NAMES[kind],
            "task_type": task.config["task_type"],
            "dataset_dir": task.config["dataset_dir"],
            "parent_task_dir": str(self.store.layout.task_dir(task.id)),
            **settings,
        }
        existing = self.child(tid, kind)
        if existing is None:
            with self.store.db.transaction() as conn:
                [cid] = self.store.tasks.insert_many(
                    conn,
                    [
                        NewTask(
                            name=f"{task.id}-{CHILD_NAMES[kind]}",
                            kind=kind,
                            owner=owner,
                            config=config,
                            project_id=task.project_id,
                            parent_id=task.id,
                        )
                    ],
                )
            existing = self.store.tasks.get(cid)
        elif existing.status in ACTIVE:
            raise Conflict(f"the {CHILD_NAMES[kind]} job of {tid} is already {existing.status}")
        else:
            self.store.tasks.update(existing.id, config=config)
        rewrite_config(self.store.layout, existing.id, config)
        self.runner.submit(self.store.tasks.get(existing.id))
        return self.store.tasks.get(existing.id)

    def predict(
        self, owner: str, tid: str, paths: list[str], epoch: int | None = None, score_thresh: float = 0.5
    ) -> Task:
        """Predict images or folders of the workspace with ``tid``'s best (or ``epoch``'s) checkpoint; the
        results land in ``<task>/predict/latest``."""
        task = self.task(tid)
        inputs = [str(workspace_path(self.store, p, "paths")) for p in paths]
        out_dir = self.store.layout.task_dir(task.id) / "predict" / "latest"
        return self.start_child(
            owner,
            task.id,
            "predict",
            epoch=epoch,
            inputs=inputs,
            out_dir=str(out_dir),
            score_thresh=score_thresh,
        )

    def predict_image(
        self, owner: str, tid: str, image: bytes, epoch: int | None = None, score_thresh: float = 0.5
    ) -> Path:
        """Predict one uploaded image (PaddleX's base64 ``image_data``); returns where the result image will
        be."""
        task = self.task(tid)
        if task.config.get("task_type") == "remote_segmentation":
            name, bands = _raster_name(image)
            trained = self._bands(self.projects.dataset(task.config["dataset_id"]))
            if bands != trained:
                raise ValidationFailed(f"image_data: {bands} band(s); the model was trained on {trained}")
        else:
            name = "input.png"
            try:
                with Image.open(io.BytesIO(image)) as im:
                    im.load()
            except (UnidentifiedImageError, OSError, ValueError):
                raise ValidationFailed("image_data is not an image") from None
        folder = self.store.layout.task_dir(task.id) / "predict" / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        if name != "input.png" or image[:8] == b"\x89PNG\r\n\x1a\n":
            (folder / name).write_bytes(image)
        else:
            with Image.open(io.BytesIO(image)) as im:
                im.convert("RGB").save(folder / name)
        self.start_child(
            owner,
            task.id,
            "predict",
            epoch=epoch,
            inputs=[str(folder / name)],
            out_dir=str(folder / "result"),
            score_thresh=score_thresh,
        )
        return folder / "result" / "input_result.png"

    def export(
        self,
        owner: str,
        tid: str,
        save_dir: str,
        kind: str = "infer",
        epoch: int | None = None,
        quant: bool = False,
    ) -> tuple[Task, Path]:
        """Export ``tid``'s model (``infer``: paddle.inference, ``onnx``) into ``save_dir`` under the
        workspace's ``exports/``; ``quant`` adds an int8 ONNX model. Returns the job and the folder."""
        task = self.task(tid)
        if kind == "lite":
            raise ValidationFailed(
                "lite export is not supported: Paddle-Lite has no build for this platform; "
                "export type=infer (or onnx) instead"
            )
        if kind not in ("infer", "onnx"):
            raise ValidationFailed(f"type must be infer or onnx (PaddleX: infer or lite), not {kind!r}")
        if quant or kind == "onnx":
            check_onnx_export(task, "quant" if quant else "type")
        folder = export_folder(self.store, save_dir)
        job = self.start_child(
            owner, task.id, "export", epoch=epoch, type=kind, save_dir=str(folder), quant=quant
        )
        return job, folder

    def stop_child(self, tid: str, kind: str) -> Run | None:
        child = self.child(tid, kind)
        if child is None:
            raise Conflict(f"task {tid} has no {CHILD_NAMES[kind]} job")
        return self.runner.cancel(child)

    def analyse(
        self,
        owner: str,
        tid: str,
        epoch: int | None = None,
        ratios: list[float] | None = None,
        max_layers: int | None = None,
    ) -> Task:
        """Sensitivity analysis of ``tid``'s best (or ``epoch``'s) checkpoint, into ``<task>/prune/``."""
        return self.start_child(owner, tid, "analysis", epoch=epoch, ratios=ratios, max_layers=max_layers)


def check_onnx_export(task: Task, field: str) -> None:
    """ONNX export (and quantized export, an int8 ONNX model) is refused up front for the detectors:
    paddle2onnx does not convert the YOLO models faithfully, and the two-stage detectors are exported in
    parts around Paddle's proposal operators."""
    if task.config.get("task_type") in ("detection", "instance_segmentation"):
        what = "quantized export makes an int8 ONNX model, which is" if field == "quant" else "ONNX export is"
        raise ValidationFailed(
            f"{field}: {what} available for classification and segmentation; paddle2onnx does not "
            "convert the detectors faithfully (use type=infer, the Paddle inference model)"
        )


# child job kind → its name suffix, which is also the trainer job's action
CHILD_NAMES = {"analysis": "sensitivity", "evaluate": "evaluate", "predict": "predict", "export": "export"}


def _raster_name(data: bytes) -> tuple[str, int]:
    """The file name an uploaded multi-band image is kept under (its format from its first bytes) and
    its number of bands, after checking that it decodes."""
    if data[:6] == b"\x93NUMPY":
        name = "input.npy"
    elif data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        name = "input.tif"
    else:
        name = "input.png"  # an ordinary picture: its three bands
    try:
        bands = rasters.read_bytes(data, name).shape[2]
    except rasters.RasterError as exc:
        raise ValidationFailed(f"image_data: not a multi-band image (.tif, .npy) or picture: {exc}") from None
    return name, bands


def export_folder(store: Store, save_dir: str) -> Path:
    """An export's ``save_dir``: a folder under the workspace's ``exports/``, absolute or relative to the
    workspace (``exports/<name>``). The export job may write there and nowhere else, so nothing else is
    taken: never the workspace root, a task's checkpoints or the database (outside the workspace: 403;
    inside it but not under exports/: 422, naming where it may go)."""
    exports = Path(os.path.realpath(store.root / "exports"))
    folder = workspace_path(store, save_dir, "save_dir")
    if folder == exports or not folder.is_relative_to(exports):
        raise ValidationFailed(
            f"save_dir: exports go into a folder under the workspace's exports/ ({exports}/<name>, or "
            f"exports/<name> relative to the workspace), not {save_dir!r}"
        )
    if any(part.startswith(".") for part in folder.relative_to(exports).parts):
        raise ValidationFailed("save_dir: hidden folders are not export folders")
    return folder

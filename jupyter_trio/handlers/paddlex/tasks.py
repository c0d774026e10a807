"""PaddleX dialect, part 2: /project/task and its train, params, prune, evaluate, metrics, predict, export."""

from __future__ import annotations

import base64
import binascii
import io
import json
import uuid
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from ...errors import Conflict, ValidationFailed
from ...formatting import hms as _hms
from ...runner.logs import log_path, read_tail
from ...services.models import workspace_path
from ...services.paddlex_status import evaluate_status, predict_status, prune_status
from ...services.training import check_quant_export
from ...store.tasks import failure_reason
from .train_params import translate
from ..base import operation
from .base import PaddleXHandler
from .workspace import PADDLEX_TASK_KINDS, task_attr, task_status_value


def _int(args: dict[str, Any], name: str) -> int | None:
    value = args.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise ValidationFailed(f"{name} must be an integer")
    return int(value)


def _float(args: dict[str, Any], name: str) -> float | None:
    value = args.get(name)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{name} must be a number") from None


class _TaskHandler(PaddleXHandler):
    @property
    def training(self) -> Any:
        return self.trio.training

    def status_of(self, task: dict[str, Any]) -> int:
        return task_status_value(self.training, task)

    def attr(self, task: dict[str, Any]) -> dict[str, Any]:
        return task_attr(self.training, task)

    def run_dir(self, task: dict[str, Any]) -> Path | None:
        return self.store.layout.run_dir(task["id"], task["last_run"]) if task["last_run"] else None

    def record(self, task: dict[str, Any] | None) -> dict[str, Any]:
        run_dir = self.run_dir(task) if task else None
        return self.trio.metrics.record(run_dir) if run_dir and run_dir.is_dir() else {}

    def last(self, task: dict[str, Any], key: str) -> float | None:
        run_dir = self.run_dir(task)
        series = self.trio.metrics.series(run_dir, key) if run_dir and run_dir.is_dir() else None
        return series.values[-1] if series and series.values else None


class TaskHandler(_TaskHandler):
    @operation("PaddleX: one task (tid; resume adds resumable, max_saved_epochs), a project's tasks (pid), or all",
               tag="paddlex")
    def get(self) -> None:
        args = self.args()
        if args.get("tid"):
            task = self.training.task(args["tid"])
            reason = (self.record(task).get("error") or failure_reason(task)) if failure_reason(task) else ""
            out: dict[str, Any] = {"task_status": self.status_of(task), "message": reason or task["message"] or "",
                                   "type": task["config"]["task_type"]}
            if "resume" in args:
                out["resumable"], out["max_saved_epochs"] = self.training.resume_info(task["id"])
            self.ok(**out)
            return
        if args.get("pid"):
            self.trio.projects.project(args["pid"])
            tasks = [t for t in self.trio.projects.project_tasks(args["pid"]) if t["kind"] in PADDLEX_TASK_KINDS]
        else:
            tasks = [t for p in self.trio.projects.projects() for t in self.trio.projects.project_tasks(p["id"])
                     if t["kind"] in PADDLEX_TASK_KINDS]
        self.ok(tasks=[self.attr(t) for t in tasks])

    @operation("PaddleX: create a train task (pid, train, desc) or a prune task (+ parent_id)", tag="paddlex")
    def post(self) -> None:
        args = self.args()
        pid = self.require(args, "pid")
        train = None
        if args.get("train") not in (None, ""):
            train = translate(self.trio.projects.project(pid)["project_type"], args["train"])
        task = self.training.create(self.username, pid, train.params if train else None,
                                    str(args.get("desc", "")), args.get("parent_id") or None)
        self.ok(tid=task["id"], **({"message": train.message} if train and train.message else {}))

    @operation("PaddleX: delete a task (tid); a running task is cancelled first", tag="paddlex")
    def delete(self) -> None:
        task = self.training.task(self.require(self.args(), "tid"))
        self.trio.tasks.delete(task["id"], force=True)
        self.ok()


class ParamsHandler(_TaskHandler):
    @operation("PaddleX: a task's parameters (tid), or recommended ones for a project (pid, model_type, gpu_list)",
               tag="paddlex")
    def get(self) -> None:
        args = self.args()
        if args.get("tid"):
            self.ok(train=self.training.task(args["tid"])["params"])
            return
        pid = self.require(args, "pid")
        gpu_list = args.get("gpu_list")
        memory = None
        if gpu_list:
            if not isinstance(gpu_list, list) or not all(isinstance(g, int) for g in gpu_list):
                raise ValidationFailed("gpu_list must be a list of GPU indices")
            known = {g.index: g for g in self.trio.gpu_list}
            missing = [g for g in gpu_list if g not in known]
            if missing:
                raise ValidationFailed(f"gpu_list: no GPU {missing} on this server")
            memory = [max(1, known[g].memory_total // 2**20) for g in gpu_list]
        params = self.training.recommended(pid, args.get("model_type") or None, memory)
        self.ok(train=params.model_dump())

    @operation("PaddleX: validate and store a task's parameters (tid, train)", tag="paddlex")
    def post(self) -> None:
        args = self.args()
        if "train" not in args:
            raise ValidationFailed("train is required")
        task = self.training.task(self.require(args, "tid"))
        train = translate(task["config"]["task_type"], args["train"])
        # PaddleX merged the given names onto the task's parameters (load_from_dict on the stored object)
        self.training.set_params(task["id"], {**task["params"], **train.params})
        self.ok(**({"message": train.message} if train.message else {}))


class TrainHandler(_TaskHandler):
    @operation("PaddleX: start training (tid; prune tasks take eval_metric_loss)", tag="paddlex")
    def post(self) -> None:
        args = self.args()
        task = self.training.task(self.require(args, "tid"))
        loss = _float(args, "eval_metric_loss")
        if loss is not None:
            if task["kind"] != "prune":
                raise ValidationFailed("eval_metric_loss applies to prune tasks only")
            self.training.set_params(task["id"], {**task["params"], "eval_metric_loss": loss})
        self.training.start(task["id"])
        self.ok()

    @operation("PaddleX: act=stop, or act=resume (optional epoch)", tag="paddlex")
    def put(self) -> None:
        args = self.args()
        tid, act = self.require(args, "tid"), args.get("act")
        if act == "stop":
            self.training.stop(tid)
        elif act == "resume":
            self.training.resume(tid, _int(args, "epoch"))
        else:
            raise ValidationFailed(f"act must be stop or resume, not {act!r}")
        self.ok()


class PruneHandler(_TaskHandler):
    @operation("PaddleX: status of a task's sensitivity analysis (tid)", tag="paddlex")
    def get(self) -> None:
        tid = self.require(self.args(), "tid")
        self.ok(prune_status=prune_status(self.training.child(tid, "analysis")).value)

    @operation("PaddleX: start the sensitivity analysis of a trained task (tid)", tag="paddlex")
    def post(self) -> None:
        args = self.args()
        self.training.analyse(self.username, self.require(args, "tid"), _int(args, "epoch"))
        self.ok()

    @operation("PaddleX: stop the sensitivity analysis (tid, act=stop)", tag="paddlex")
    def put(self) -> None:
        args = self.args()
        if args.get("act") != "stop":
            raise ValidationFailed("act must be stop")
        self.training.stop_child(self.require(args, "tid"), "analysis")
        self.ok()


class EvaluateHandler(_TaskHandler):
    @operation("PaddleX: evaluation status and result (tid)", tag="paddlex")
    def get(self) -> None:
        task = self.training.task(self.require(self.args(), "tid"))
        job = self.training.child(task["id"], "evaluate")
        rec = self.record(job)
        result = rec.get("result", {}).get("metrics") if job and job["status"] == "completed" else None
        self.ok(evaluate_status=evaluate_status(job).value, message=rec.get("error") or (job or {}).get("message") or "",
                result=result)

    @operation("PaddleX: evaluate a trained task (tid, epoch or best, topk, score_thresh, overlap_thresh)",
               tag="paddlex")
    def post(self) -> None:
        args = self.args()
        self.training.start_child(self.username, self.require(args, "tid"), "evaluate", epoch=_int(args, "epoch"),
                                  split=args.get("split") or "val", topk=_int(args, "topk") or 5,
                                  score_thresh=_float(args, "score_thresh") or 0.5,
                                  overlap_thresh=_float(args, "overlap_thresh") or 0.3)
        self.ok()


class MetricsHandler(_TaskHandler):
    @operation("PaddleX: train_log (type=train), eval_metrics (eval), sensitivities_loss_img (sensitivities), "
               "prune_log (prune)", tag="paddlex")
    def get(self) -> None:
        args = self.args()
        task = self.training.task(self.require(args, "tid"))
        kind = args.get("type", "train")
        if kind == "train":
            rec = self.record(task)
            eta = self.last(task, "eta_s")
            train_metrics = {k: self.last(task, k) for k in ("loss", "lr", "speed")}
            train_metrics.update(epoch=rec.get("epoch"), num_epochs=rec.get("num_epochs"))
            self.ok(train_log={
                "eta": None if eta is None or task["status"] != "running" else _hms(eta),
                "train_metrics": train_metrics, "eval_metrics": rec.get("eval_metrics"),
                "download_status": 3,  # XDDECOMPRESSED: nothing to download, models start from random weights
                "eval_done": bool(rec.get("eval_metrics")), "train_error": rec.get("error") or failure_reason(task), "stage": rec.get("stage"),
                "best": rec.get("best")})
        elif kind == "eval":
            path = self.store.layout.task_dir(task["id"]) / "evaluate" / "result.json"
            if not path.is_file():
                raise Conflict(f"task {task['id']} has not been evaluated yet")
            self.ok(eval_metrics=json.loads(path.read_text()))
        elif kind == "sensitivities":
            folder = self.store.layout.task_dir(task["id"]) / "prune"
            if not (folder / "sensitivities.png").is_file():
                raise Conflict(f"task {task['id']} has no sensitivity analysis yet")
            self.ok(sensitivities_loss_img={
                "img_data": base64.b64encode((folder / "sensitivities.png").read_bytes()).decode("ascii"),
                "sensitivities": json.loads((folder / "sensitivities.json").read_text())})
        elif kind == "prune":
            analysis = self.training.child(task["id"], "analysis")
            self.ok(prune_log={"analysis": {"prune_status": prune_status(analysis).value,
                                            **self.record(analysis)} if analysis else None,
                               "prune": self.record(task) if task["kind"] == "prune" else None})
        else:
            raise ValidationFailed(f"type must be train, eval, sensitivities or prune, not {kind!r}")


class PredictHandler(_TaskHandler):
    @operation("PaddleX: predict a base64 image (tid, image_data, score_thresh, epoch) → path of the result image",
               tag="paddlex")
    def post(self) -> None:
        args = self.args()
        task = self.training.task(self.require(args, "tid"))
        try:
            data = base64.b64decode(self.require(args, "image_data"), validate=True)
            with Image.open(io.BytesIO(data)) as im:
                im.load()
        except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
            raise ValidationFailed("image_data is not a base64-encoded image") from None
        folder = self.store.layout.task_dir(task["id"]) / "predict" / uuid.uuid4().hex[:12]
        folder.mkdir(parents=True)
        (folder / "input.png").write_bytes(data) if data[:8] == b"\x89PNG\r\n\x1a\n" else \
            Image.open(io.BytesIO(data)).convert("RGB").save(folder / "input.png")
        self.training.start_child(self.username, task["id"], "predict", epoch=_int(args, "epoch"),
                                  inputs=[str(folder / "input.png")], out_dir=str(folder / "result"),
                                  score_thresh=_float(args, "score_thresh") or 0.5)
        self.ok(path=str(folder / "result" / "input_result.png"))

    @operation("PaddleX: prediction status (tid)", tag="paddlex")
    def get(self) -> None:
        job = self.training.child(self.require(self.args(), "tid"), "predict")
        rec = self.record(job)
        self.ok(predict_status=predict_status(job).value, message=rec.get("error") or "")

    @operation("PaddleX: stop a prediction (tid)", tag="paddlex")
    def put(self) -> None:
        tid = self.require(self.args(), "tid")
        self.training.stop_child(tid, "predict")
        self.ok(predict_status=predict_status(self.training.child(tid, "predict")).value)


class ExportHandler(_TaskHandler):
    @operation("PaddleX: export (tid, type infer|lite, save_dir inside the workspace, epoch, quant)", tag="paddlex")
    def post(self) -> None:
        args = self.args()
        task = self.training.task(self.require(args, "tid"))
        kind = args.get("type", "infer")
        if kind == "lite":
            raise ValidationFailed("lite export is not supported: Paddle-Lite has no build for this platform; "
                                   "export type=infer (or onnx) instead")
        if kind not in ("infer", "onnx"):
            raise ValidationFailed(f"type must be infer or lite (or onnx), not {kind!r}")
        quant = args.get("quant") in (True, "true", "True", 1)
        if quant:
            check_quant_export(task)
        save_dir = workspace_path(self.store, self.require(args, "save_dir"), "save_dir")
        self.training.start_child(self.username, task["id"], "export", epoch=_int(args, "epoch"), type=kind,
                                  save_dir=str(save_dir), quant=quant)
        self.ok(save_dir=str(save_dir))

    @operation("PaddleX: export status (tid)", tag="paddlex")
    def get(self) -> None:
        args = self.args()
        job = self.training.child(self.require(args, "tid"), "export")
        rec = self.record(job)
        status = predict_status(job).value
        quant = args.get("quant")
        if quant not in (None, "", "log", "result"):
            raise ValidationFailed(f"quant must be log or result, not {quant!r}")
        if quant == "result":  # the int8 model's sizes and its agreement with the float model
            self.ok(export_status=status, quant_result=rec.get("quantization") or {})
        elif quant == "log":
            run_dir = self.run_dir(job) if job else None
            lines = read_tail(log_path(run_dir, "output"), 200).content if run_dir else ""
            self.ok(export_status=status, quant_log={"log": [line for line in lines.splitlines()
                                                              if line.startswith("[EXPORT]")]})
        else:
            self.ok(export_status=status, message=rec.get("error") or rec.get("save_dir") or "")

    @operation("PaddleX: stop an export (tid)", tag="paddlex")
    def put(self) -> None:
        tid = self.require(self.args(), "tid")
        self.training.stop_child(tid, "export")
        self.ok(export_status=predict_status(self.training.child(tid, "export")).value, message="stopped")


class VdlHandler(_TaskHandler):
    @operation("PaddleX: the URL of a live view of the task's metrics (tid)", tag="paddlex")
    def get(self) -> None:
        task = self.training.task(self.require(self.args(), "tid"))
        path = f"{self.base_url.rstrip('/')}/trio/api/tasks/{task['id']}/view"
        self.ok(url=f"{self.request.protocol}://{self.request.host}{path}")


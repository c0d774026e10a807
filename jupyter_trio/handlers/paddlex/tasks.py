"""PaddleX dialect, part 2: /project/task and its train, params, prune, evaluate, metrics, predict, export."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ...domain import Task
from ...errors import ValidationFailed
from ...formatting import hms as _hms
from ...schemas.paddlex import (
    EvaluateReply,
    EvaluateStart,
    ExportQuery,
    ExportReply,
    ExportStart,
    ExportStarted,
    Message,
    MetricsQuery,
    MetricsReply,
    ParamsQuery,
    ParamsReply,
    ParamsUpdate,
    PredictReply,
    PredictStart,
    PredictStarted,
    PruneAnalysis,
    PruneReply,
    PruneStop,
    TaskCreate,
    TaskCreated,
    TaskQuery,
    TaskRef,
    TaskReply,
    TrainAction,
    TrainStart,
    VdlReply,
)
from ...vocabulary import failure_reason
from ..base import operation
from .base import PaddleXHandler
from .status import evaluate_status, predict_status, prune_status
from .train_params import translate
from .workspace import PADDLEX_TASK_KINDS, task_attr, task_status_value


class _PaddleXTaskHandler(PaddleXHandler):
    @property
    def training(self) -> Any:
        return self.trio.training

    def status_of(self, task: Task) -> int:
        return task_status_value(self.training, task)

    def attr(self, task: Task) -> dict[str, Any]:
        return task_attr(self.training, task)

    def record(self, task: Task | None) -> dict[str, Any]:
        return self.trio.training_results.record(task)

    def last(self, task: Task, key: str) -> float | None:
        return self.trio.training_results.last(task, key)


class PaddleXTaskHandler(_PaddleXTaskHandler):
    @operation(
        "PaddleX: one task (tid; resume adds resumable, max_saved_epochs), a project's tasks (pid), or all",
        request=TaskQuery,
        response=TaskReply,
        tag="paddlex",
    )
    def get(self) -> None:
        raw = self.args()
        args = self.arguments(TaskQuery)
        if args.tid:
            task = self.training.task(args.tid)
            failed = failure_reason(task)  # the job's own last word first, else the run's
            message = (self.record(task).get("error") or failed) if failed else task.message or ""
            out: dict[str, Any] = {
                "task_status": self.status_of(task),
                "message": message,
                "type": task.config["task_type"],
            }
            if "resume" in raw:
                out["resumable"], out["max_saved_epochs"] = self.training.resume_info(task.id)
            self.ok(**out)
            return
        if args.pid:
            self.trio.projects.project(args.pid)
            tasks = [t for t in self.trio.projects.project_tasks(args.pid) if t.kind in PADDLEX_TASK_KINDS]
        else:
            tasks = [
                t
                for p in self.trio.projects.projects()
                for t in self.trio.projects.project_tasks(p.id)
                if t.kind in PADDLEX_TASK_KINDS
            ]
        self.ok(tasks=[self.attr(t) for t in tasks])

    @operation(
        "PaddleX: create a train task (pid, train, desc) or a prune task (+ parent_id)",
        request=TaskCreate,
        response=TaskCreated,
        tag="paddlex",
    )
    def post(self) -> None:
        args = self.arguments(TaskCreate)
        train = None
        if args.train not in (None, ""):
            train = translate(self.trio.projects.project(args.pid).project_type, args.train)
        task = self.training.create(
            self.username, args.pid, train.params if train else None, args.desc, args.parent_id or None
        )
        self.ok(tid=task.id, **({"message": train.message} if train and train.message else {}))

    @operation(
        "PaddleX: delete a task (tid); a running task is cancelled first", request=TaskRef, tag="paddlex"
    )
    def delete(self) -> None:
        task = self.training.task(self.arguments(TaskRef).tid)
        self.trio.tasks.delete(task.id, force=True)
        self.ok()


class PaddleXParamsHandler(_PaddleXTaskHandler):
    @operation(
        "PaddleX: a task's parameters (tid), or recommended ones for a project (pid, model_type, gpu_list)",
        request=ParamsQuery,
        response=ParamsReply,
        tag="paddlex",
    )
    def get(self) -> None:
        args = self.arguments(ParamsQuery)
        if args.tid:
            self.ok(train=self.training.task(args.tid).params)
            return
        if not args.pid:
            raise ValidationFailed("pid (or tid) is required")
        params = self.training.recommended_on(args.pid, args.model_type or None, args.gpu_list or None)
        self.ok(train=params.model_dump())

    @operation(
        "PaddleX: validate and store a task's parameters (tid, train)",
        request=ParamsUpdate,
        response=Message,
        tag="paddlex",
    )
    def post(self) -> None:
        args = self.arguments(ParamsUpdate)
        task = self.training.task(args.tid)
        train = translate(task.config["task_type"], args.train)
        # PaddleX merged the given names onto the task's parameters (load_from_dict on the stored object)
        self.training.set_params(task.id, {**task.params, **train.params})
        self.ok(**({"message": train.message} if train.message else {}))


class PaddleXTrainHandler(_PaddleXTaskHandler):
    @operation(
        "PaddleX: start training (tid; prune tasks take eval_metric_loss)", request=TrainStart, tag="paddlex"
    )
    def post(self) -> None:
        args = self.arguments(TrainStart)
        task = self.training.task(args.tid)
        loss = args.eval_metric_loss
        if loss is not None:
            if task.kind != "prune":
                raise ValidationFailed("eval_metric_loss applies to prune tasks only")
            self.training.set_params(task.id, {**task.params, "eval_metric_loss": loss})
        self.training.start(task.id)
        self.ok()

    @operation("PaddleX: act=stop, or act=resume (optional epoch)", request=TrainAction, tag="paddlex")
    def put(self) -> None:
        args = self.arguments(TrainAction)
        if args.act == "stop":
            self.training.stop(args.tid)
        else:
            self.training.resume(args.tid, args.epoch)
        self.ok()


class PaddleXPruneHandler(_PaddleXTaskHandler):
    @operation(
        "PaddleX: status of a task's sensitivity analysis (tid)",
        request=TaskRef,
        response=PruneReply,
        tag="paddlex",
    )
    def get(self) -> None:
        tid = self.arguments(TaskRef).tid
        self.ok(prune_status=prune_status(self.training.child(tid, "analysis")).value)

    @operation(
        "PaddleX: start the sensitivity analysis of a trained task (tid)",
        request=PruneAnalysis,
        tag="paddlex",
    )
    def post(self) -> None:
        args = self.arguments(PruneAnalysis)
        self.training.analyse(self.username, args.tid, args.epoch)
        self.ok()

    @operation("PaddleX: stop the sensitivity analysis (tid, act=stop)", request=PruneStop, tag="paddlex")
    def put(self) -> None:
        self.training.stop_child(self.arguments(PruneStop).tid, "analysis")
        self.ok()


class PaddleXEvaluateHandler(_PaddleXTaskHandler):
    @operation(
        "PaddleX: evaluation status and result (tid)", request=TaskRef, response=EvaluateReply, tag="paddlex"
    )
    def get(self) -> None:
        task = self.training.task(self.arguments(TaskRef).tid)
        job = self.training.child(task.id, "evaluate")
        rec = self.record(job)
        result = rec.get("result", {}).get("metrics") if job and job.status == "completed" else None
        self.ok(
            evaluate_status=evaluate_status(job).value,
            message=rec.get("error") or (job.message if job else ""),
            result=result,
        )

    @operation(
        "PaddleX: evaluate a trained task (tid, epoch or best, topk, score_thresh, overlap_thresh)",
        request=EvaluateStart,
        tag="paddlex",
    )
    def post(self) -> None:
        args = self.arguments(EvaluateStart)
        self.training.start_child(
            self.username,
            args.tid,
            "evaluate",
            epoch=args.epoch,
            split=args.split,
            topk=args.topk,
            score_thresh=args.score_thresh,
            overlap_thresh=args.overlap_thresh,
        )
        self.ok()


class PaddleXMetricsHandler(_PaddleXTaskHandler):
    @operation(
        "PaddleX: train_log (type=train), eval_metrics (eval), sensitivities_loss_img (sensitivities), "
        "prune_log (prune)",
        request=MetricsQuery,
        response=MetricsReply,
        tag="paddlex",
    )
    def get(self) -> None:
        args = self.arguments(MetricsQuery)
        task = self.training.task(args.tid)
        kind = args.type
        if kind == "train":
            rec = self.record(task)
            eta = self.last(task, "eta_s")
            train_metrics = {k: self.last(task, k) for k in ("loss", "lr", "speed")}
            train_metrics.update(epoch=rec.get("epoch"), num_epochs=rec.get("num_epochs"))
            self.ok(
                train_log={
                    "eta": None if eta is None or task.status != "running" else _hms(eta),
                    "train_metrics": train_metrics,
                    "eval_metrics": rec.get("eval_metrics"),
                    # XDDECOMPRESSED: nothing to download, models start from random weights
                    "download_status": 3,
                    "eval_done": bool(rec.get("eval_metrics")),
                    "train_error": rec.get("error") or failure_reason(task),
                    "stage": rec.get("stage"),
                    "best": rec.get("best"),
                }
            )
        elif kind == "eval":
            self.ok(eval_metrics=self.trio.training_results.evaluation(task))
        elif kind == "sensitivities":
            self.ok(sensitivities_loss_img=self.trio.training_results.sensitivities(task))
        else:  # prune
            analysis = self.training.child(task.id, "analysis")
            self.ok(
                prune_log={
                    "analysis": {"prune_status": prune_status(analysis).value, **self.record(analysis)}
                    if analysis
                    else None,
                    "prune": self.record(task) if task.kind == "prune" else None,
                }
            )


class PaddleXPredictHandler(_PaddleXTaskHandler):
    @operation(
        "PaddleX: predict a base64 image (tid, image_data, score_thresh, epoch) → path of the result image",
        request=PredictStart,
        response=PredictStarted,
        tag="paddlex",
    )
    def post(self) -> None:
        args = self.arguments(PredictStart)
        try:
            data = base64.b64decode(args.image_data, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed("image_data is not base64") from None
        result = self.training.predict_image(self.username, args.tid, data, args.epoch, args.score_thresh)
        self.ok(path=str(result))

    @operation("PaddleX: prediction status (tid)", request=TaskRef, response=PredictReply, tag="paddlex")
    def get(self) -> None:
        job = self.training.child(self.arguments(TaskRef).tid, "predict")
        rec = self.record(job)
        self.ok(predict_status=predict_status(job).value, message=rec.get("error") or "")

    @operation("PaddleX: stop a prediction (tid)", request=TaskRef, response=PredictReply, tag="paddlex")
    def put(self) -> None:
        tid = self.arguments(TaskRef).tid
        self.training.stop_child(tid, "predict")
        self.ok(predict_status=predict_status(self.training.child(tid, "predict")).value)


class PaddleXExportHandler(_PaddleXTaskHandler):
    @operation(
        "PaddleX: export (tid, type infer|lite, save_dir inside the workspace, epoch, quant)",
        request=ExportStart,
        response=ExportStarted,
        tag="paddlex",
    )
    def post(self) -> None:
        args = self.arguments(ExportStart)
        _, save_dir = self.training.export(
            self.username, args.tid, args.save_dir, args.type, args.epoch, args.quant
        )
        self.ok(save_dir=str(save_dir))

    @operation(
        "PaddleX: export status (tid; quant=log|result: the int8 export's log or result)",
        request=ExportQuery,
        response=ExportReply,
        tag="paddlex",
    )
    def get(self) -> None:
        args = self.arguments(ExportQuery)
        job = self.training.child(args.tid, "export")
        rec = self.record(job)
        status = predict_status(job).value
        quant = args.quant
        if quant == "result":  # the int8 model's sizes and its agreement with the float model
            self.ok(export_status=status, quant_result=rec.get("quantization") or {})
        elif quant == "log":
            self.ok(export_status=status, quant_log={"log": self.trio.training_results.export_log(job)})
        else:
            self.ok(export_status=status, message=rec.get("error") or rec.get("save_dir") or "")

    @operation("PaddleX: stop an export (tid)", request=TaskRef, response=ExportReply, tag="paddlex")
    def put(self) -> None:
        tid = self.arguments(TaskRef).tid
        self.training.stop_child(tid, "export")
        self.ok(export_status=predict_status(self.training.child(tid, "export")).value, message="stopped")


class PaddleXVdlHandler(_PaddleXTaskHandler):
    @operation(
        "PaddleX: the URL of a live view of the task's metrics (tid)",
        request=TaskRef,
        response=VdlReply,
        tag="paddlex",
    )
    def get(self) -> None:
        task = self.training.task(self.arguments(TaskRef).tid)
        path = f"{self.base_url.rstrip('/')}/trio/api/tasks/{task.id}/view"
        self.ok(url=f"{self.request.protocol}://{self.request.host}{path}")

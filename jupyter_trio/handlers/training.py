"""Native API over training: project parameters and train tasks, their parameters, resume, child jobs
(evaluate, predict, export, sensitivity analysis) and kept models — the services PaddleX part 2 uses."""

from __future__ import annotations

from ..errors import ValidationFailed
from ..schemas.native import (
    AnalysisRequest,
    EvaluateRequest,
    ExportRequest,
    ModelCreate,
    ModelInfo,
    ModelList,
    ParamsReply,
    ParamsUpdate,
    PredictRequest,
    ResumeRequest,
    TaskDetail,
    TrainTaskCreate,
)
from .base import TrioHandler, operation

JOB_REQUESTS = {
    "evaluate": EvaluateRequest,
    "predict": PredictRequest,
    "export": ExportRequest,
    "analysis": AnalysisRequest,
}


class _Training(TrioHandler):
    def detail(self, name: str) -> TaskDetail:
        return TaskDetail.with_runs(*self.trio.tasks.detail(name))


class ProjectParamsHandler(_Training):
    @operation(
        "Recommended training parameters for a project (?model=)", response=ParamsReply, tag="training"
    )
    def get(self, pid: str) -> None:
        model = self.get_query_argument("model", None)
        self.reply(ParamsReply(train=self.trio.training.recommended(pid, model).model_dump()))


class ProjectTasksHandler(_Training):
    @operation(
        "Create a train task (or, with parent_id, a prune task) in a project",
        request=TrainTaskCreate,
        response=TaskDetail,
        status=201,
        tag="training",
    )
    def post(self, pid: str) -> None:
        body = self.parse_body(TrainTaskCreate)
        task = self.trio.training.create(self.username, pid, body.train, body.description, body.parent_id)
        self.reply(self.detail(task.id), 201)


class TaskParamsHandler(_Training):
    @operation("A train task's parameters", response=ParamsReply, tag="training")
    def get(self, name: str) -> None:
        self.reply(ParamsReply(train=self.trio.training.task(name).params))

    @operation(
        "Replace a train task's parameters (validated; not while it runs)",
        request=ParamsUpdate,
        response=ParamsReply,
        tag="training",
    )
    def put(self, name: str) -> None:
        task = self.trio.training.set_params(name, self.parse_body(ParamsUpdate).train)
        self.reply(ParamsReply(train=task.params))


class TaskResumeHandler(_Training):
    @operation(
        "Resume a train task from a saved epoch (a new run)",
        request=ResumeRequest,
        response=TaskDetail,
        status=202,
        tag="training",
    )
    def post(self, name: str) -> None:
        body = self.parse_body(ResumeRequest)
        task = self.trio.training.resume(name, body.epoch)
        self.reply(self.detail(task.id), 202)


class TaskJobHandler(_Training):
    @operation(
        "Start a job of a trained task: evaluate, predict, export or analysis (sensitivities); returns "
        "the job, a task named <task>-<job>",
        response=TaskDetail,
        status=202,
        tag="training",
    )
    def post(self, name: str, job: str) -> None:
        if job not in JOB_REQUESTS:
            raise ValidationFailed(f"job must be one of {', '.join(JOB_REQUESTS)}, not {job!r}")
        settings = self.parse_body(JOB_REQUESTS[job]).model_dump()
        training = self.trio.training
        task = training.task(name)
        if job == "predict":
            child = training.predict(self.username, task.id, **settings)
        elif job == "export":
            child, _ = training.export(
                self.username, task.id, settings.pop("save_dir"), settings.pop("type"), **settings
            )
        else:
            child = training.start_child(self.username, task.id, job, **settings)
        self.reply(self.detail(child.id), 202)


class ModelsHandler(TrioHandler):
    @operation("Kept models (?kind=pretrained|exported)", response=ModelList, tag="models")
    def get(self) -> None:
        kind = self.get_query_argument("kind", None)
        self.reply(ModelList(items=[ModelInfo.of(m) for m in self.trio.weights.list(kind)]))

    @operation(
        "Save a task's checkpoint as a pretrained model, or register an exported model",
        request=ModelCreate,
        response=ModelInfo,
        status=201,
        tag="models",
    )
    def post(self) -> None:
        body = self.parse_body(ModelCreate)
        if body.kind == "pretrained":
            model = self.trio.weights.save_pretrained(
                self.username, body.task_id, body.name, source_path=body.source_path, epoch=body.epoch
            )
        else:
            if not body.path:
                raise ValidationFailed("path is required for an exported model")
            model = self.trio.weights.register_exported(self.username, body.task_id, body.name, body.path)
        self.reply(ModelInfo.of(model), 201)


class ModelHandler(TrioHandler):
    @operation("One kept model", response=ModelInfo, tag="models")
    def get(self, mid: str) -> None:
        self.reply(ModelInfo.of(self.trio.weights.get(mid)))

    @operation(
        "Delete a kept model (a pretrained model's copy is removed; an export's files are kept)",
        status=204,
        tag="models",
    )
    def delete(self, mid: str) -> None:
        self.trio.weights.delete(mid)
        self.set_status(204)
        self.finish()

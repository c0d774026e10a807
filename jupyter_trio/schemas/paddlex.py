"""Wire types of the PaddleX RESTful dialect (``/trio/paddlex``).

PaddleX clients send an operation's arguments in the query string or as a JSON body (on GET and DELETE
too), numbers often as strings from form inputs, and names the operation does not use; so these models
coerce (``"3"`` → 3), ignore unknown names, and name the field of a wrong value. Every reply is
``{"status": 1, ...}``; every error ``{"status": -1, "message", "code"}`` with a 4xx HTTP status.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Arguments(BaseModel):
    """Base of the argument models: unknown names are ignored, as PaddleX's server ignored them, and a
    ``null`` or empty value means the argument was not given (PaddleX clients send ``"epoch": null``)."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    @model_validator(mode="before")
    @classmethod
    def _absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None and v != ""}
        return data


Id = Field(min_length=1)


# ---- envelope
class PaddleXReply(BaseModel):
    """A success: ``status`` 1 and the operation's fields."""

    model_config = ConfigDict(extra="allow")
    status: Literal[1] = 1


class PaddleXError(BaseModel):
    """A client error: ``status`` -1, why, and a stable code."""

    status: Literal[-1] = -1
    message: str = Field(min_length=1)
    code: str


# ---- system, workspace, datasets, projects
class SystemArgs(Arguments):
    type: Literal["machine_info", "gpu_memory_size"] = "machine_info"


class WorkspaceQuery(Arguments):
    struct: Literal["dataset", "project", "task"] | None = None
    id: str | None = None
    attr_list: list[str] | str | None = None


class WorkspaceChange(Arguments):
    struct: Literal["dataset", "project", "task"]
    id: str = Id
    attr_dict: dict[str, Any] = Field(
        min_length=1, description="attributes to change: name, desc (and did for a project: bind a dataset)"
    )


class DatasetQuery(Arguments):
    did: str | None = None


class DatasetCreate(Arguments):
    name: str = Id
    desc: str = ""
    dataset_type: str = Id


class DatasetImport(Arguments):
    did: str = Id
    path: str = Field(min_length=1, description="a server folder inside c.TrioApp.import_roots")


class DatasetRef(Arguments):
    did: str = Id


class DatasetSplit(Arguments):
    did: str = Id
    val_split: float = Field(0.2, ge=0, lt=1)
    test_split: float = Field(0.1, ge=0, lt=1)
    seed: int = 0


class ProjectQuery(Arguments):
    id: str | None = None


class ProjectCreate(Arguments):
    name: str = Id
    desc: str = ""
    project_type: int | str = Field(description="a name (classification...) or PaddleX's integer")


class ProjectRef(Arguments):
    pid: str = Id


# ---- files and demos
class FileQuery(Arguments):
    path: str = Field(min_length=1, description="a workspace file, absolute or relative")
    did: str | None = Field(None, description="draw this dataset's labels on the image")
    bands: str | None = Field(
        None,
        pattern=r"^\s*\d+\s*,\s*\d+\s*,\s*\d+\s*$",
        description="a multi-band image (.tif, .tiff, .npy): the three bands shown as red, green, blue, "
        "numbered from 1 as GDAL does, e.g. '4,3,2'; the first three by default",
    )


class DemoRef(Arguments):
    prj_type: int | str = Field(description="a project type name or PaddleX's integer")


class DemoAction(DemoRef):
    type: Literal["download", "load"]


# ---- tasks
class TaskQuery(Arguments):
    tid: str | None = None
    pid: str | None = None
    resume: Any = Field(None, description="present: add resumable and max_saved_epochs")


class TaskCreate(Arguments):
    pid: str = Id
    train: dict[str, Any] | str | None = Field(
        None,
        description="training parameters (an object or its JSON "
        "text); names a task type lacks are ignored "
        "and listed in the reply's message",
    )
    desc: str = ""
    parent_id: str | None = Field(None, description="prune this task's model")


class TaskRef(Arguments):
    tid: str = Id


class ParamsQuery(Arguments):
    tid: str | None = None
    pid: str | None = None
    model_type: str | None = None
    gpu_list: list[int] | None = None


class ParamsUpdate(Arguments):
    tid: str = Id
    train: dict[str, Any] | str


class TrainStart(Arguments):
    tid: str = Id
    eval_metric_loss: float | None = Field(
        None, ge=0, le=1, description="prune tasks: the accuracy loss allowed"
    )


class TrainAction(Arguments):
    tid: str = Id
    act: Literal["stop", "resume"]
    epoch: int | None = Field(None, ge=1)


class PruneAnalysis(Arguments):
    tid: str = Id
    epoch: int | None = Field(None, ge=1)


class PruneStop(Arguments):
    tid: str = Id
    act: Literal["stop"]


class EvaluateStart(Arguments):
    tid: str = Id
    epoch: int | None = Field(None, ge=1)
    split: Literal["val", "test", "train"] = "val"
    topk: int = Field(5, ge=1, le=1000)
    score_thresh: float = Field(0.5, ge=0, le=1)
    overlap_thresh: float = Field(0.3, ge=0, le=1)


class MetricsQuery(Arguments):
    tid: str = Id
    type: Literal["train", "eval", "sensitivities", "prune"] = "train"


class PredictStart(Arguments):
    tid: str = Id
    image_data: str = Field(min_length=1, description="the image, base64")
    epoch: int | None = Field(None, ge=1)
    score_thresh: float = Field(0.5, ge=0, le=1)


class ExportStart(Arguments):
    tid: str = Id
    save_dir: str = Field(min_length=1, description="a folder inside the workspace")
    type: str = Field("infer", description="infer or onnx (lite is refused with the reason)")
    epoch: int | None = Field(None, ge=1)
    quant: bool = False


class ExportQuery(Arguments):
    tid: str = Id
    quant: Literal["log", "result"] | None = None


# ---- kept models
class ModelQuery(Arguments):
    mid: str | None = None
    type: Literal["pretrained", "exported"] | None = None


class ModelSave(Arguments):
    type: Literal["pretrained", "exported"]
    tid: str = Id
    name: str = ""
    pid: str | None = None
    source_path: str | None = None
    epoch: int | None = Field(None, ge=1)
    eval_results: dict[str, Any] | None = None
    path: str | None = Field(None, description="exported: the export folder")
    exported_type: int = Field(0, ge=0, le=1)


class ModelDelete(Arguments):
    type: Literal["pretrained", "exported"]
    pmid: str | None = None
    emid: str | None = None


# ---- replies: the envelope (status 1, extra fields allowed) with each operation's own fields
class Message(PaddleXReply):
    message: str | None = Field(None, description="what was ignored or changed on the way, when anything was")


class SystemReply(PaddleXReply):
    info: dict[str, Any] | None = Field(
        None, description="machine_info: cpu_num, gpu_num, sysstr, training_available, paddle_version"
    )
    gpu_mem_infos: list[dict[str, Any]] | None = Field(None, description="gpu_memory_size: free, used, total")


class WorkspaceReply(PaddleXReply):
    dirname: str | None = Field(None, description="the workspace folder (no struct given)")
    attr: dict[str, Any] | None = None


class DatasetReply(PaddleXReply):
    id: str | None = None
    dataset_status: int | None = Field(None, description="PaddleX's DatasetStatus")
    message: str | None = None
    attr: dict[str, Any] | None = None
    datasets: list[dict[str, Any]] | None = Field(None, description="no did given: every dataset")


class DatasetCreated(PaddleXReply):
    did: str


class DatasetDetailsReply(PaddleXReply):
    details: dict[str, Any]


class ProjectReply(PaddleXReply):
    attr: dict[str, Any] | None = None
    projects: list[dict[str, Any]] | None = Field(None, description="no id given: every project")


class ProjectCreated(PaddleXReply):
    pid: str


class FileReply(PaddleXReply):
    img_data: str | None = Field(None, description="an image, base64 (labels drawn when did is given)")
    lines: list[str] | None = None
    text: str | None = None


class DemoReply(PaddleXReply):
    attr: dict[str, Any] = Field(description="status (DownloadStatus), progress, message")


class DemoLoaded(PaddleXReply):
    did: str | None = Field(None, description="type=load: the dataset made from the demo")
    pid: str | None = Field(None, description="type=load: its project")


class ModelReply(PaddleXReply):
    attr: dict[str, Any] | None = None
    dataset_attr: dict[str, Any] | None = None
    task_params: dict[str, Any] | None = None
    eval_result: dict[str, Any] | None = None
    pretrained_models: list[dict[str, Any]] | None = None
    exported_models: list[dict[str, Any]] | None = None


class ModelSaved(PaddleXReply):
    pmid: str | None = None
    emid: str | None = None


class TaskReply(PaddleXReply):
    task_status: int | None = Field(None, description="PaddleX's TaskStatus")
    message: str | None = Field(None, description="why a failed task failed")
    type: str | None = None
    resumable: bool | None = None
    max_saved_epochs: int | None = None
    tasks: list[dict[str, Any]] | None = Field(None, description="no tid given: the tasks' attributes")


class TaskCreated(Message):
    tid: str


class ParamsReply(PaddleXReply):
    train: dict[str, Any]


class PruneReply(PaddleXReply):
    prune_status: int = Field(description="PaddleX's PruneStatus")


class EvaluateReply(PaddleXReply):
    evaluate_status: int = Field(description="PaddleX's TaskStatus for evaluation")
    message: str
    result: dict[str, Any] | None = None


class MetricsReply(PaddleXReply):
    train_log: dict[str, Any] | None = None
    eval_metrics: dict[str, Any] | None = None
    sensitivities_loss_img: dict[str, Any] | None = None
    prune_log: dict[str, Any] | None = None


class PredictStarted(PaddleXReply):
    path: str = Field(description="where the result image will be (fetch it with /file)")


class PredictReply(PaddleXReply):
    predict_status: int = Field(description="PaddleX's PredictStatus")
    message: str | None = None


class ExportStarted(PaddleXReply):
    save_dir: str


class ExportReply(PaddleXReply):
    export_status: int = Field(description="PaddleX's PredictStatus, as PaddleX reported exports")
    message: str | None = None
    quant_result: dict[str, Any] | None = None
    quant_log: dict[str, Any] | None = None


class VdlReply(PaddleXReply):
    url: str

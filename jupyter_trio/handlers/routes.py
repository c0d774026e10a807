"""The whole route table of jupyter-trio, readable at a glance. Patterns are relative to base_url."""

from __future__ import annotations

from . import datasets as native
from . import training, v1
from .base import NotFoundHandler
from .core import FilesHandler, HealthHandler, OpenAPIHandler
from .events import EventsHandler
from .ingest import IngestFileHandler, IngestHandler, RunTokenClaimHandler
from .logs import LogSearchHandler, LogsHandler, LogStreamHandler
from .metrics import MetricsIndexHandler, MetricsViewHandler, RecordsHandler, SeriesHandler
from .notebook_jobs import (
    NotebookJobsHandler,
    NotebookParametersHandler,
    TaskOutputsHandler,
    TaskOutputsOpenHandler,
)
from .paddlex import tasks as pxtasks
from .paddlex.files import PaddleXDemoHandler, PaddleXFileHandler
from .paddlex.weights import PaddleXModelHandler
from .paddlex.workspace import (
    PaddleXDatasetDetailsHandler,
    PaddleXDatasetHandler,
    PaddleXDatasetSplitHandler,
    PaddleXProjectHandler,
    PaddleXSystemHandler,
    PaddleXWorkspaceHandler,
)
from .registry import (
    ModelAliasHandler,
    ModelVersionHandler,
    ModelVersionsHandler,
    RegisteredModelHandler,
    RegisteredModelsHandler,
    V1ModelVersionHandler,
    V1ModelVersionsHandler,
)
from .runs import RunTableHandler
from .schedules import (
    ScheduleHandler,
    SchedulePauseHandler,
    SchedulePreviewHandler,
    ScheduleResumeHandler,
    SchedulesHandler,
)
from .sweeps import (
    SweepHandler,
    SweepImportancesHandler,
    SweepPauseHandler,
    SweepPreviewHandler,
    SweepResumeHandler,
    SweepsHandler,
    SweepStopHandler,
    SweepStudyHandler,
    SweepTrialsHandler,
)
from .system import SystemInfoHandler, SystemMetricsHandler
from .task_batch import TaskBatchDeleteHandler, TaskBatchRunHandler, TaskExportCSVHandler, TaskReorderHandler
from .task_runs import (
    LogDownloadHandler,
    RunCompareHandler,
    RunDiffHandler,
    RunInputHandler,
    RunRerunCodeHandler,
)
from .tasks import (
    NotebookRunFinishHandler,
    NotebookRunsHandler,
    TaskCancelHandler,
    TaskEnvHandler,
    TaskHandler,
    TaskNotesHandler,
    TaskNotifyHandler,
    TaskPinHandler,
    TaskRenameHandler,
    TaskRunHandler,
    TasksHandler,
)
from .workspace import (
    GeneratorCreateHandler,
    GeneratorPreviewHandler,
    LauncherConfigsHandler,
    LauncherOpenHandler,
    LauncherPickScriptHandler,
    LauncherScriptsHandler,
    LauncherWorkspacesHandler,
    RunRootHandler,
    ShellWorkspaceHandler,
    WorkspaceHandler,
)

API = r"/trio/api"
PADDLEX = r"/trio/paddlex"
NAME = r"(?P<name>[^/]+)"
PATH = r"(?P<path>.*)"
DID = r"(?P<did>[^/]+)"
PID = r"(?P<pid>[^/]+)"
KIND = r"(?P<kind>[^/]+)"
V1 = rf"{API}/v1"
RUN = r"(?P<run>[^/]+)"
TASK_ID = r"(?P<task_id>[^/]+)"
RUN_INDEX = r"(?P<run_index>[^/]+)"
SID = r"(?P<sid>[^/]+)"
MODEL = r"(?P<model>[^/]+)"
REF = r"(?P<ref>[^/]+)"
ALIAS = r"(?P<alias>[^/]+)"
CID = r"(?P<cid>[^/]+|weights/[^/]+|sampler_weights/[^/]+)"

ROUTES: list[tuple] = [
    (rf"{API}/health", HealthHandler),
    (rf"{API}/openapi\.json", OpenAPIHandler),
    (rf"{API}/events", EventsHandler),
    # a job without the workspace's filesystem (a Ray worker) sends its data back (run token, not user)
    (rf"{API}/ingest/{TASK_ID}/{RUN_INDEX}/files", IngestFileHandler),
    (rf"{API}/ingest/{TASK_ID}/{RUN_INDEX}/token", RunTokenClaimHandler),
    (rf"{API}/ingest/{TASK_ID}/{RUN_INDEX}/{KIND}", IngestHandler),
    (rf"{API}/files", FilesHandler),
    (rf"{API}/files/{PATH}", FilesHandler),
    # pyruns dialect: workspaces, generator, tasks, logs, launcher
    (rf"{API}/workspace", WorkspaceHandler),
    (rf"{API}/workspace/run-root", RunRootHandler),
    (rf"{API}/workspace/shell", ShellWorkspaceHandler),
    (rf"{API}/generator/preview", GeneratorPreviewHandler),
    (rf"{API}/generator/create", GeneratorCreateHandler),
    # sweeps: adaptive search on Optuna, trials are tasks
    (rf"{API}/runs", RunTableHandler),
    (rf"{API}/sweeps", SweepsHandler),
    (rf"{API}/sweeps/preview", SweepPreviewHandler),
    (rf"{API}/sweeps/{NAME}", SweepHandler),
    (rf"{API}/sweeps/{NAME}/pause", SweepPauseHandler),
    (rf"{API}/sweeps/{NAME}/resume", SweepResumeHandler),
    (rf"{API}/sweeps/{NAME}/stop", SweepStopHandler),
    (rf"{API}/sweeps/{NAME}/trials", SweepTrialsHandler),
    (rf"{API}/sweeps/{NAME}/study", SweepStudyHandler),
    (rf"{API}/sweeps/{NAME}/importances", SweepImportancesHandler),
    (rf"{API}/tasks", TasksHandler),
    # before /tasks/{NAME}...: these paths would match it ("batch", "reorder" taken for a task's name)
    (rf"{API}/tasks/batch/run", TaskBatchRunHandler),
    (rf"{API}/tasks/batch/delete", TaskBatchDeleteHandler),
    (rf"{API}/tasks/export/csv", TaskExportCSVHandler),
    (rf"{API}/tasks/reorder", TaskReorderHandler),
    (rf"{API}/tasks/{NAME}", TaskHandler),
    (rf"{API}/tasks/{NAME}/run", TaskRunHandler),
    (rf"{API}/tasks/{NAME}/cancel", TaskCancelHandler),
    (rf"{API}/tasks/{NAME}/pin", TaskPinHandler),
    (rf"{API}/tasks/{NAME}/notes", TaskNotesHandler),
    (rf"{API}/tasks/{NAME}/env", TaskEnvHandler),
    (rf"{API}/tasks/{NAME}/notify", TaskNotifyHandler),
    (rf"{API}/tasks/{NAME}/outputs", TaskOutputsHandler),
    (rf"{API}/tasks/{NAME}/outputs/open", TaskOutputsOpenHandler),
    # notebook jobs (a notebook run headless with parameters) and cron schedules of any task
    (rf"{API}/notebook-jobs", NotebookJobsHandler),
    (rf"{API}/notebook-jobs/parameters", NotebookParametersHandler),
    (rf"{API}/schedules", SchedulesHandler),
    (rf"{API}/schedules/preview", SchedulePreviewHandler),
    (rf"{API}/schedules/{SID}", ScheduleHandler),
    (rf"{API}/schedules/{SID}/pause", SchedulePauseHandler),
    (rf"{API}/schedules/{SID}/resume", ScheduleResumeHandler),
    (rf"{API}/notebook-runs", NotebookRunsHandler),
    (rf"{API}/notebook-runs/{NAME}/finish", NotebookRunFinishHandler),
    (rf"{API}/tasks/{NAME}/rename", TaskRenameHandler),
    (rf"{API}/tasks/{NAME}/logs", LogsHandler),
    (rf"{API}/tasks/{NAME}/logs/stream", LogStreamHandler),
    (rf"{API}/tasks/{NAME}/logs/search", LogSearchHandler),
    (rf"{API}/tasks/{NAME}/logs/download", LogDownloadHandler),
    (rf"{API}/tasks/{NAME}/runs/{RUN_INDEX}/input", RunInputHandler),
    (rf"{API}/tasks/{NAME}/runs/{RUN_INDEX}/diff", RunDiffHandler),
    (rf"{API}/tasks/{NAME}/runs/{RUN_INDEX}/compare", RunCompareHandler),
    (rf"{API}/tasks/{NAME}/runs/{RUN_INDEX}/rerun-code", RunRerunCodeHandler),
    (rf"{API}/tasks/{NAME}/metrics", MetricsIndexHandler),
    (rf"{API}/tasks/{NAME}/metrics/(?P<key>.+)", SeriesHandler),
    (rf"{API}/tasks/{NAME}/records", RecordsHandler),
    (rf"{API}/tasks/{NAME}/view", MetricsViewHandler),
    # datasets, projects, demos (the native twin of PaddleX part 1)
    (rf"{API}/datasets", native.DatasetsHandler),
    (rf"{API}/datasets/{DID}", native.DatasetHandler),
    (rf"{API}/datasets/{DID}/import", native.DatasetImportHandler),
    (rf"{API}/datasets/{DID}/split", native.DatasetSplitHandler),
    (rf"{API}/datasets/{DID}/details", native.DatasetDetailsHandler),
    (rf"{API}/datasets/{DID}/preview/{PATH}", native.DatasetPreviewHandler),
    (rf"{API}/projects", native.ProjectsHandler),
    (rf"{API}/projects/{PID}", native.ProjectHandler),
    (rf"{API}/projects/{PID}/params", training.ProjectParamsHandler),
    (rf"{API}/projects/{PID}/tasks", training.ProjectTasksHandler),
    (rf"{API}/tasks/{NAME}/params", training.TaskParamsHandler),
    (rf"{API}/tasks/{NAME}/resume", training.TaskResumeHandler),
    (rf"{API}/tasks/{NAME}/jobs/(?P<job>[^/]+)", training.TaskJobHandler),
    (rf"{API}/models", training.ModelsHandler),
    (rf"{API}/models/(?P<mid>[^/]+)", training.ModelHandler),
    # the model registry: named models, numbered versions, aliases, lineage back to the run
    (rf"{API}/registry/models", RegisteredModelsHandler),
    (rf"{API}/registry/models/{MODEL}", RegisteredModelHandler),
    (rf"{API}/registry/models/{MODEL}/versions", ModelVersionsHandler),
    (rf"{API}/registry/models/{MODEL}/versions/{REF}", ModelVersionHandler),
    (rf"{API}/registry/models/{MODEL}/aliases/{ALIAS}", ModelAliasHandler),
    (rf"{API}/demos", native.DemosHandler),
    (rf"{API}/demos/{KIND}", native.DemoHandler),
    (rf"{API}/demos/{KIND}/download", native.DemoDownloadHandler),
    (rf"{API}/demos/{KIND}/stop", native.DemoStopHandler),
    (rf"{API}/demos/{KIND}/load", native.DemoLoadHandler),
    (rf"{API}/launcher/scripts", LauncherScriptsHandler),
    (rf"{API}/launcher/configs", LauncherConfigsHandler),
    (rf"{API}/launcher/workspaces", LauncherWorkspacesHandler),
    (rf"{API}/launcher/open", LauncherOpenHandler),
    (rf"{API}/launcher/pick-script", LauncherPickScriptHandler),
    (rf"{API}/system/info", SystemInfoHandler),
    (rf"{API}/system/metrics", SystemMetricsHandler),
    # PaddleX dialect, part 1: system, workspace, datasets, files, demo, projects
    (rf"{PADDLEX}/system", PaddleXSystemHandler),
    (rf"{PADDLEX}/workspace", PaddleXWorkspaceHandler),
    (rf"{PADDLEX}/dataset", PaddleXDatasetHandler),
    (rf"{PADDLEX}/dataset/split", PaddleXDatasetSplitHandler),
    (rf"{PADDLEX}/dataset/details", PaddleXDatasetDetailsHandler),
    (rf"{PADDLEX}/file", PaddleXFileHandler),
    (rf"{PADDLEX}/demo", PaddleXDemoHandler),
    (rf"{PADDLEX}/project", PaddleXProjectHandler),
    (rf"{PADDLEX}/project/task", pxtasks.PaddleXTaskHandler),
    (rf"{PADDLEX}/project/task/params", pxtasks.PaddleXParamsHandler),
    (rf"{PADDLEX}/project/task/train", pxtasks.PaddleXTrainHandler),
    (rf"{PADDLEX}/project/task/prune", pxtasks.PaddleXPruneHandler),
    (rf"{PADDLEX}/project/task/evaluate", pxtasks.PaddleXEvaluateHandler),
    (rf"{PADDLEX}/project/task/metrics", pxtasks.PaddleXMetricsHandler),
    (rf"{PADDLEX}/project/task/predict", pxtasks.PaddleXPredictHandler),
    (rf"{PADDLEX}/project/task/export", pxtasks.PaddleXExportHandler),
    (rf"{PADDLEX}/project/task/vdl", pxtasks.PaddleXVdlHandler),
    (rf"{PADDLEX}/model", PaddleXModelHandler),
    # RestClient dialect (Tinker's REST shapes)
    (rf"{V1}/user", v1.UserHandler),
    (rf"{V1}/client/config", v1.ClientConfigHandler),
    (rf"{V1}/client/dynamic_config", v1.ClientDynamicConfigHandler),
    (rf"{V1}/telemetry", v1.TelemetryHandler),
    (rf"{V1}/models/{MODEL}/versions", V1ModelVersionsHandler),
    (rf"{V1}/models/{MODEL}/versions/{REF}", V1ModelVersionHandler),
    (rf"{V1}/training_runs", v1.TrainingRunsHandler),
    (rf"{V1}/training_runs/{RUN}", v1.TrainingRunHandler),
    (rf"{V1}/training_runs/{RUN}/checkpoints", v1.RunCheckpointsHandler),
    (rf"{V1}/training_runs/{RUN}/checkpoints/{CID}", v1.RunCheckpointHandler),
    (rf"{V1}/training_runs/{RUN}/checkpoints/{CID}/archive", v1.RunCheckpointArchiveHandler),
    (rf"{V1}/checkpoints", v1.UserCheckpointsHandler),
    (rf"{V1}/weights", v1.WeightsHandler),
    (rf"{V1}/weights/(?P<wid>[^/]+)/archive", v1.WeightsArchiveHandler),
    (rf"{V1}/weights_info", v1.WeightsInfoHandler),
    (rf"{V1}/archives/(?P<target>checkpoints/[^/]+/[^/]+|weights/[^/]+)", v1.ArchiveHandler),
    (rf"{V1}/sessions", v1.SessionsHandler),
    (rf"{V1}/sessions/(?P<sid>[^/]+)", v1.SessionHandler),
    (rf"{V1}/samplers", v1.SamplersHandler),
    (rf"{V1}/samplers/(?P<sid>[^/]+)", v1.SamplerHandler),
    (rf"{V1}/samplers/(?P<sid>[^/]+)/predict", v1.SamplerPredictHandler),
    # Must stay last: every other path under /trio answers a JSON 404 after auth.
    (r"/trio(?:/.*)?", NotFoundHandler),
]

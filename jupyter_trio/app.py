"""The Jupyter server extension: configuration (``c.TrioApp.*``), wiring, and the route table."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Any

from jupyter_server._tz import utcnow
from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import (
    Bool,
    Dict,
    Float,
    Int,
    List,
    Set,
    TraitError,
    Type,
    Unicode,
    Union,
    default,
    observe,
    validate,
)

from . import batch
from ._version import __version__
from .domain import Task, TaskKind
from .errors import ValidationFailed
from .handlers import routes
from .runner.executor import Executor, ServerContext
from .runner.folder_watch import FolderWatcher
from .runner.gpu_sources import BUILTIN_SOURCES, GPUSource, HubLeases, LocalGPUs
from .runner.gpus import GPU, checked_gpu_setting
from .runner.local_executor import LocalExecutor
from .runner.ray_executor import RayExecutor
from .runner.service import Runner
from .services.archives import ArchiveSigner
from .services.checkpoints import CheckpointService
from .services.code_rerun import CodeRerun
from .services.dataset_import import DatasetImporter
from .services.demo_datasets import DemoService
from .services.event_sources import GPUS_EVERY_S, PROGRESS_EVERY_S, EventSources
from .services.events import EventBus
from .services.file_preview import WorkspaceFiles
from .services.hub_schedules import HubScheduleMirror
from .services.ingest import IngestService
from .services.model_registry import ModelRegistry
from .services.notebook_jobs import NotebookJobService
from .services.notebook_runs import NotebookRunService
from .services.notifications import Notifier, check_urls
from .services.projects import ProjectService
from .services.provenance import ProvenanceRecorder
from .services.retries import RetryPolicy
from .services.run_files import RunFiles
from .services.run_table import RunTableService
from .services.run_tokens import RunTokens
from .services.samplers import SamplerService
from .services.schedules import ScheduleService
from .services.sessions import SessionService
from .services.sweeps import SweepService
from .services.tasks import TaskService
from .services.trainer_env import TrainerEnvironment
from .services.training import TrainingService
from .services.training_results import TrainingResults
from .services.training_runs import TrainingRunService
from .services.users import UserService
from .services.weights import WeightsService
from .services.workspaces import ScriptWorkspaces
from .store import Store, WorkspaceDamaged
from .store.metrics import MetricsReader
from .store.secrets import workspace_secret

BUILTIN_EXECUTORS = {
    "local": "jupyter_trio.runner.local_executor.LocalExecutor",
    "ray": "jupyter_trio.runner.ray_executor.RayExecutor",
}
ACTIVITY_EVERY_S = 5.0
# Settings that moved from TrioApp to the class that uses them: c.TrioApp.<old name> still works as a
# deprecated alias, copied to c.<class>.<new name> with a warning in the log (TrioApp._apply_moved_traits).
MOVED_TRAITS: dict[str, tuple[str, str]] = {
    "gpus": ("LocalGPUs", "gpus"),
    "spare_shims": ("LocalExecutor", "spare_shims"),
    "ray_address": ("RayExecutor", "address"),
    "ray_shared_filesystem": ("RayExecutor", "shared_filesystem"),
    "ray_server_url": ("RayExecutor", "server_url"),
    "ray_python": ("RayExecutor", "python"),
    "ray_cpus_per_job": ("RayExecutor", "cpus_per_job"),
    "ray_runtime_env": ("RayExecutor", "runtime_env"),
}


def _moved(old: str) -> str:
    owner, new = MOVED_TRAITS[old]
    return (
        f"Deprecated: use c.{owner}.{new}. A value set here is copied there, with a warning in the log, "
        f"unless c.{owner}.{new} is set too (then it wins)."
    )


class TrioApp(ExtensionApp):
    """jupyter-trio: train, track and manage deep-learning jobs from Jupyter."""

    name = "jupyter_trio"
    description = __doc__
    app_name = "jupyter-trio"
    app_version = __version__
    extension_url = "/trio/api/health"
    load_other_extensions = True
    # configurables of their own, built with this app as their parent: c.<class>.<trait>
    classes = [*ExtensionApp.classes, LocalExecutor, RayExecutor, LocalGPUs, HubLeases]
    moved_traits = MOVED_TRAITS

    workspace_dir = Unicode(
        "",
        config=True,
        help="Folder of the workspace (database + artifacts). Relative paths are taken from the "
        "server's root_dir. Empty: a '.trio' folder in the server's root_dir.",
    )
    gpu_source = Unicode(
        "local",
        config=True,
        help="Where GPUs come from: 'local' (this machine's, see c.LocalGPUs.gpus) or 'hub' (leases from the "
        "JupyterHub GPU arbiter service, python -m jupyter_trio.hub, shared fairly by every user of the "
        "machine; see c.HubLeases.*).",
    )
    gpu_source_class = Type(
        None,
        klass=GPUSource,
        allow_none=True,
        config=True,
        help="A GPUSource subclass to use instead of the gpu_source short form.",
    )
    max_cpu_jobs = Int(
        config=True,
        help="How many CPU-only jobs run at once. Default: half the CPU cores, at least 1.",
    )
    executor = Unicode(
        "local",
        config=True,
        help="Where jobs run. 'local': child processes of this machine, supervised by a shim "
        "that outlives server restarts (see c.LocalExecutor.*). 'ray': jobs of a Ray cluster (see "
        "c.RayExecutor.*), through Ray's Jobs API; this machine's GPUs and gpu_source are then not used, the "
        "cluster's are.",
    )
    executor_class = Type(
        None,
        klass=Executor,
        allow_none=True,
        config=True,
        help="An Executor subclass to use instead of the executor short form.",
    )
    # ---- deprecated aliases of settings that moved to their owner (MOVED_TRAITS)
    gpus = Union([Unicode(), List(Int())], default_value="auto", config=True, help=_moved("gpus"))
    spare_shims = Int(1, config=True, help=_moved("spare_shims"))
    ray_address = Unicode("", config=True, help=_moved("ray_address"))
    ray_shared_filesystem = Bool(True, config=True, help=_moved("ray_shared_filesystem"))
    ray_server_url = Unicode("", config=True, help=_moved("ray_server_url"))
    ray_python = Unicode("python", config=True, help=_moved("ray_python"))
    ray_cpus_per_job = Float(1.0, config=True, help=_moved("ray_cpus_per_job"))
    ray_runtime_env = Dict(config=True, help=_moved("ray_runtime_env"))
    _moved_set = Set()  # the aliases given a value (their observer records them)

    poll_interval = Float(
        0.1,
        config=True,
        help="Seconds between runner checks for finished jobs and free resources.",
    )
    retry_delay = Float(
        5.0,
        config=True,
        help="Seconds a task's first retry waits in the queue (a task's max_retries and retry_on say when "
        "a run is retried); each further retry of the same run waits twice as long, at most 5 minutes.",
    )
    hub_service = Unicode(
        "trio-gpus",
        config=True,
        help="On JupyterHub: the name of the jupyter-trio Hub service (python -m jupyter_trio.hub) this "
        "server hands its schedules to, so that a schedule due while the server is stopped or culled starts "
        "it. The server's Hub token needs the custom:trio-schedules scope. Empty: schedules fire only while "
        "this server runs.",
    )
    schedule_misfire_grace = Float(
        600.0,
        config=True,
        help="Seconds a schedule's fire may be late and still run as on time (a busy server, a server "
        "the Hub started for this fire); a fire later than that was missed while no server was up, and the "
        "schedule's catchup policy (skip, or run once) decides.",
    )
    cancel_grace_period = Float(
        10.0,
        config=True,
        help="Seconds a cancelled job has between SIGTERM and SIGKILL.",
    )
    python_executable = Unicode(
        "",
        config=True,
        help="Python that runs jobs (script tasks, trainer jobs, samplers; training needs "
        "PaddlePaddle in it). "
        "Empty: the Python running the server.",
    )

    import_roots = List(
        Unicode(),
        config=True,
        help="Folders a dataset import may read from (e.g. ['/data', '/mnt/datasets']); an import path, "
        "absolute or relative to the first one, must resolve inside one of them. Empty: the server's "
        "root_dir only.",
    )

    max_generated_tasks = Int(
        100_000,
        config=True,
        help="Tasks one generator request (preview or create) may expand to; a larger batch is refused "
        "with a 422 before anything is made.",
    )
    max_generated_nodes = Int(
        2_000_000,
        config=True,
        help="Values (mappings, lists and scalars) over all the configs one generator request may make: "
        "tasks x values per config. Bounds the memory a batch takes.",
    )
    max_yaml_nodes = Int(
        100_000,
        config=True,
        help="Values one YAML config (a generator's yaml_text, a script workspace's config) may hold once "
        "its aliases are expanded, each use of *alias counting its target again; a larger or "
        "self-referencing document (a 'billion laughs') is refused with a 422.",
    )

    demo_images = Int(
        0,
        config=True,
        help="Images in each generated demo dataset. 0: the built-in size (a few hundred per type).",
    )

    archive_url_ttl = Float(
        900.0,
        config=True,
        help="Seconds a signed checkpoint or weights archive link stays valid.",
    )
    ingest_quota_gb = Float(
        20.0,
        config=True,
        help="GiB one run may send back through the ingest routes in all (files, points, records), for "
        "jobs without a shared filesystem; past it, uploads are refused (413).",
    )
    max_sampler_processes = Int(
        2,
        config=True,
        help="Samplers kept loaded at once (each is a process holding one model); the least recently "
        "used one is stopped when another is needed.",
    )

    freeze_startup_heap = Bool(
        True,
        config=True,
        help="Once the server has started, move what start-up made (jupyter_server, JupyterLab, every "
        "extension: some hundred thousand objects) into Python's permanent generation (gc.freeze), so "
        "the garbage collector's full passes stop walking it. Each full pass otherwise stalls every "
        "request for 100-200 ms on a small machine (bench/load_bench.py).",
    )
    jobs_keep_server_active = Bool(
        True,
        config=True,
        help="Count queued and running jobs as activity of this server (jupyter_server's last_activity, "
        "which "
        "JupyterHub's idle culler reads), so a server is not culled while its jobs run. Jobs outlive a "
        "culled or stopped server either way.",
    )

    notify_urls = List(
        Unicode(),
        config=True,
        help="Apprise URLs told when any run ends (json://host:port/path, mailto://user:password@host, "
        "slack://TokenA/TokenB/TokenC, msteams://...; see https://github.com/caronc/apprise/wiki): title "
        "'<task> run <n> <status>', a body with the exit code, duration, failure message and tracked "
        "series. A task's own URLs (its notify list) are told about its runs as well. Sent in the "
        "background; shown and logged with their secrets masked.",
    )
    notify_retry_delays = List(
        Float(),
        default_value=[2.0, 10.0, 60.0],
        config=True,
        help="Seconds before each new try of a notification that failed; after the last, it is given up "
        "(logged).",
    )
    notify_timeout = Float(
        10.0,
        config=True,
        help="Seconds one try of a notification may take (connecting, then waiting for the reply).",
    )
    notify_server_url = Unicode(
        "",
        config=True,
        help="This server's URL as the people notified reach it (e.g. https://hub.example.org/user/alice/), "
        "for a link to the task in each notification. Empty: JupyterHub's public URL of this server when the "
        "Hub has one, else this server's own URL; under a Hub without a public URL, no link.",
    )

    event_backlog = Int(
        5000,
        config=True,
        help="Events kept for clients of /trio/api/events that reconnect with ?since=<id>; one further "
        "behind is told to refetch.",
    )

    @default("max_cpu_jobs")
    def _default_max_cpu_jobs(self) -> int:
        return max(1, (os.cpu_count() or 2) // 2)

    @validate("gpus")
    def _validate_gpus(self, proposal: Any) -> Any:
        return checked_gpu_setting(proposal["value"])

    @validate("gpu_source")
    def _validate_gpu_source(self, proposal: Any) -> str:
        if proposal["value"] not in BUILTIN_SOURCES:
            raise TraitError(
                f"unknown gpu_source {proposal['value']!r}; available: {', '.join(BUILTIN_SOURCES)}"
            )
        return proposal["value"]

    @validate("max_cpu_jobs")
    def _validate_max_cpu_jobs(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise TraitError("max_cpu_jobs must be at least 1")
        return proposal["value"]

    @observe(*MOVED_TRAITS)
    def _moved_trait_set(self, change: Any) -> None:
        self._moved_set = self._moved_set | {change["name"]}

    def _apply_moved_traits(self) -> None:
        """Copy each deprecated alias that was set (``c.TrioApp.ray_address``) to its owner's trait
        (``c.RayExecutor.address``) in this app's config, which the owner reads when the app builds it
        (``parent=self``); the owner's own setting wins. The way jupyter_server moves its settings."""
        for old in sorted(self._moved_set):
            owner, new = MOVED_TRAITS[old]
            value = getattr(self, old)
            section = self.config[owner]
            if new not in section:
                self.log.warning("c.TrioApp.%s is deprecated: use c.%s.%s", old, owner, new)
                section[new] = value
            elif section[new] != value:
                self.log.warning(
                    "Ignoring the deprecated c.TrioApp.%s: c.%s.%s is set and wins", old, owner, new
                )

    @validate("notify_urls")
    def _validate_notify_urls(self, proposal: Any) -> list[str]:
        try:
            check_urls(proposal["value"], "c.TrioApp.notify_urls", limit=None)
        except ValidationFailed as exc:
            raise TraitError(exc.message) from None
        return proposal["value"]

    @validate("executor")
    def _validate_executor(self, proposal: Any) -> str:
        if proposal["value"] not in BUILTIN_EXECUTORS:
            raise TraitError(
                f"unknown executor {proposal['value']!r}; available: {', '.join(BUILTIN_EXECUTORS)}"
            )
        return proposal["value"]

    # ---- wiring
    store: Store
    gpu_list: list[GPU]
    ingest: IngestService
    runner: Runner
    workspaces: ScriptWorkspaces
    tasks: TaskService
    metrics_reader: MetricsReader
    projects: ProjectService
    dataset_importer: DatasetImporter
    demo_datasets: DemoService
    training: TrainingService
    weights: WeightsService
    trainer_env: TrainerEnvironment
    users: UserService
    training_results: TrainingResults
    workspace_files: WorkspaceFiles
    sessions: SessionService
    checkpoints: CheckpointService
    training_runs: TrainingRunService
    samplers: SamplerService
    sweeps: SweepService
    notebook_jobs: NotebookJobService
    registry: ModelRegistry
    code_rerun: CodeRerun
    hub_schedules: HubScheduleMirror | None
    schedules: ScheduleService
    archive_signer: ArchiveSigner
    event_bus: EventBus
    event_sources: EventSources
    notifier: Notifier
    # why the workspace cannot be served (a damaged trio.db): every route answers 503 with it
    unavailable: str = ""
    _runner_loop: PeriodicCallback | None = None
    _samplers: list[PeriodicCallback] = []
    _activity_loop: PeriodicCallback | None = None

    def resolved_workspace_dir(self) -> Path:
        root = Path(self.serverapp.root_dir).expanduser() if self.serverapp else Path.cwd()
        if not self.workspace_dir:
            return (root / ".trio").absolute()
        path = Path(self.workspace_dir).expanduser()
        return (path if path.is_absolute() else root / path).absolute()

    @property
    def schema_version(self) -> int:
        return self.store.schema_version

    def resolved_root_dir(self) -> Path:
        return (Path(self.serverapp.root_dir).expanduser() if self.serverapp else Path.cwd()).absolute()

    def server_url(self) -> str:
        """This server's own URL (base_url included), as a job on this machine reaches it."""
        return self.serverapp.connection_url if self.serverapp is not None else ""

    def public_server_url(self) -> str:
        """This server's URL as people outside reach it (links in notifications); '' when unknown."""
        if self.notify_server_url:
            return self.notify_server_url
        if os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):  # under a Hub our own URL is an internal address
            return os.environ.get("JUPYTERHUB_PUBLIC_URL", "")
        return self.server_url()

    def server_secrets(self) -> tuple[str, ...]:
        """Values no job's environment may hold: the server's token (``runner/job_env.py``)."""
        provider = getattr(self.serverapp, "identity_provider", None)
        token = getattr(provider, "token", "") or ""
        return (token,) if isinstance(token, str) and token else ()

    def job_credentials(self, task_id: str, run_index: int) -> dict[str, str]:
        """What a job gets to reach this server: its URL and the run's own token (read the API, write its
        run: ``services/run_tokens.py``), never the server's token."""
        return {"TRIO_SERVER_URL": self.server_url(), "TRIO_TOKEN": self.run_tokens.token(task_id, run_index)}

    def server_context(self) -> ServerContext:
        """What an executor may know of this server (``Executor.for_server``): never the app itself."""
        serverapp = self.serverapp
        return ServerContext(
            workspace=self.store.root,
            root_dir=self.resolved_root_dir(),
            store=self.store,
            run_tokens=self.run_tokens,
            server_url=(lambda: serverapp.connection_url) if serverapp is not None else (lambda: ""),
            hidden=self.server_secrets(),
            cancel_grace_s=self.cancel_grace_period,
        )

    def _make_gpu_source(self) -> GPUSource:
        cls = self.gpu_source_class or BUILTIN_SOURCES[self.gpu_source]
        legacy = getattr(cls, "configured", None)
        if legacy is not None:  # a GPUSource written before sources were configurables
            self.log.warning("%s.configured(gpus) is deprecated: give it traits of its own", cls.__name__)
            return legacy(self.config.LocalGPUs.get("gpus", self.gpus))
        return cls(parent=self)

    def _make_executor(self) -> Executor:
        if self.executor_class is not None:
            cls = self.executor_class
        else:
            from importlib import import_module

            module, _, name = BUILTIN_EXECUTORS[self.executor].rpartition(".")
            try:
                cls = getattr(import_module(module), name)
            except ImportError as exc:
                raise TraitError(
                    f"executor {self.executor!r} needs {exc.name}: pip install 'jupyter-trio[ray]'"
                ) from exc
        legacy = getattr(cls, "configured", None)
        if legacy is not None:  # an Executor written before executors were configurables: given the app
            self.log.warning(
                "%s.configured(app) is deprecated: override for_server(context, parent) instead", cls.__name__
            )
            return legacy(self)
        return cls.for_server(self.server_context(), parent=self)

    def resolved_import_roots(self) -> list[Path]:
        root = Path(self.serverapp.root_dir).expanduser() if self.serverapp else Path.cwd()
        folders = [Path(p).expanduser() for p in self.import_roots] or [root]
        return [(p if p.is_absolute() else root / p).absolute() for p in folders]

    def initialize_settings(self) -> None:
        workspace = self.resolved_workspace_dir()
        self.settings.update({"trio_app": self})
        try:
            self.store = Store(workspace)
        except WorkspaceDamaged as exc:  # serve the reason on every route; never touch the file
            self.unavailable = exc.message
            self.log.error("jupyter-trio: %s", exc.message)
            return
        self._apply_moved_traits()
        gpu_source = self._make_gpu_source()
        self.gpu_list = gpu_source.inventory()
        self.log.info(
            "jupyter-trio %s: workspace %s (schema v%s), GPUs %s, max_cpu_jobs %s",
            __version__,
            workspace,
            self.store.schema_version,
            [g.index for g in self.gpu_list] or "none",
            self.max_cpu_jobs,
        )
        root_dir = Path(self.serverapp.root_dir).expanduser() if self.serverapp else Path.cwd()
        self.run_tokens = RunTokens(workspace_secret(workspace, "ingest.key"))
        self.ingest = IngestService(self.store, self.run_tokens, int(self.ingest_quota_gb * 2**30))
        executor = self._make_executor()
        self.runner = Runner(
            self.store,
            gpus=self.gpu_list,
            max_cpu_jobs=self.max_cpu_jobs,
            root_dir=root_dir,
            cancel_grace_s=self.cancel_grace_period,
            python=self.python_executable or sys.executable,
            gpu_source=gpu_source,
            executor=executor,
            credentials=self.job_credentials,
        )
        if self.runner.gpu_source is not gpu_source:  # the executor places GPUs itself (a cluster)
            gpu_source.close()
            self.gpu_list = self.runner.gpu_source.inventory()
        executor.start()
        self.workspaces = ScriptWorkspaces(self.store, root_dir, self.max_yaml_nodes)
        self.metrics_reader = MetricsReader()
        self.tasks = TaskService(
            self.store,
            self.runner,
            self.workspaces,
            batch.Limits(self.max_generated_tasks, self.max_generated_nodes),
        )
        self.projects = ProjectService(self.store, self.runner)
        self.dataset_importer = DatasetImporter(self.store, self.resolved_import_roots())
        self.trainer_env = TrainerEnvironment(self.python_executable or sys.executable)
        self.training = TrainingService(self.store, self.runner, self.projects, self.trainer_env)
        self.sweeps = SweepService(
            self.store, self.runner, self.workspaces, self.metrics_reader, self.tasks, self.training
        )
        self.runner.on_finish.append(self.sweeps.trial_ended)  # a held trial starts in the same tick
        self.run_table = RunTableService(self.store)
        self.code_rerun = CodeRerun(self.store, self.tasks, root_dir)
        self.notebook_jobs = NotebookJobService(self.store, self.tasks, root_dir, self._kernel_names)
        self.hub_schedules = None  # made once the app is wired (below)
        self.schedules = ScheduleService(
            self.store, self.tasks, self.notebook_jobs, self.schedule_misfire_grace
        )
        self.weights = WeightsService(self.store, self.projects)
        self.demo_datasets = DemoService(self.store, self.projects, self.demo_images or None)
        self.checkpoints = CheckpointService(self.store)
        self.registry = ModelRegistry(self.store, self.checkpoints)
        self.training_runs = TrainingRunService(self.store, self.training, self.projects, self.checkpoints)
        self.training_results = TrainingResults(self.store, self.metrics_reader)
        self.run_files = RunFiles(self.metrics_reader)
        self.notebook_runs = NotebookRunService(self.store)
        self.users = UserService(self.store)
        self.workspace_files = WorkspaceFiles(self.store)
        self.sessions = SessionService(self.store, root_dir)
        self.samplers = SamplerService(
            self.store, self.checkpoints, self.trainer_env, self.max_sampler_processes
        )
        self.archive_signer = ArchiveSigner(workspace_secret(workspace, "archive.key"), self.archive_url_ttl)
        self.runner.on_finish.append(lambda item: self.checkpoints.sync_task_id(item.run.task_id))
        self.runner.on_finish.append(self.weights.export_ended)  # models registered while exporting
        self.weights.settle_exports()  # ... whose export ended while no server ran
        self.notifier = Notifier(
            self.store,
            check_urls(self.notify_urls, "c.TrioApp.notify_urls", limit=None),
            link=self.public_server_url,
            timeout_s=self.notify_timeout,
            retry_delays=self.notify_retry_delays,
        )
        if self.notifier.targets:
            self.log.info("jupyter-trio: runs notify %s", ", ".join(t.shown for t in self.notifier.targets))
        self.runner.on_finish.append(self.notifier.run_finished)  # queues and returns
        self.provenance = ProvenanceRecorder()
        self.runner.on_start.append(self._record_provenance)
        self.retries = RetryPolicy(self.store, self.runner, self.training, self.retry_delay)
        self.runner.on_finish.append(self.retries.on_finish)
        self.checkpoints.sync_on_start()  # checkpoints written while no server was watching
        self.hub_schedules = HubScheduleMirror.from_environment(self.store, self.hub_service)
        self.settings.update({"trio_store": self.store, "trio_app": self})
        loop = IOLoop.current()
        self.event_bus = EventBus(self.event_backlog)
        self.folder_watch = FolderWatcher()  # wakes log followers when their run folder changes
        self.event_sources = EventSources(
            self.event_bus, self.store, self.metrics_reader, self.runner.gpu_source
        )
        self.dataset_importer.on_progress = self.event_sources.import_progress
        self._samplers = [
            PeriodicCallback(self.event_sources.sample_progress, PROGRESS_EVERY_S * 1000),
            PeriodicCallback(self.event_sources.sample_gpus, GPUS_EVERY_S * 1000),
        ]
        self.event_bus.on_listeners.append(
            lambda count: loop.add_callback(self._sample_while_listened, count)
        )
        self.runner.wake = lambda: loop.add_callback(self._tick)  # after the current request
        self._tick()  # re-attach to jobs that outlived the last server, record those that ended
        self._runner_loop = PeriodicCallback(self._tick, self.poll_interval * 1000)
        self._runner_loop.start()
        self._activity_loop = PeriodicCallback(self._mark_jobs_active, ACTIVITY_EVERY_S * 1000)
        self._activity_loop.start()
        self._mark_jobs_active()
        if self.freeze_startup_heap:
            loop.add_callback(freeze_heap)  # the loop's first turn: every extension has loaded by then

    def _record_provenance(self, task: Task, run_index: int, run_dir: Path, gpus: list[int]) -> None:
        """What ran (services/provenance.py): the git state of the folder the code is in (a script's
        folder, a shell task's working folder; a trainer's code is jupyter-trio's), the job's Python and
        packages, the host and the run's GPUs. Captured on a thread of its own."""
        if task.kind in (TaskKind.SCRIPT, TaskKind.NOTEBOOK_JOB):
            code_dir: Path | None = (self.runner.root_dir / task.script_path).parent
        elif task.kind == TaskKind.SHELL:
            code_dir = self.runner.root_dir
        else:
            code_dir = None
        names = {gpu.index: gpu.name for gpu in self.runner.gpus} if gpus else {}
        held = [names.get(g, str(g)) for g in gpus]
        self.provenance.capture(run_dir, code_dir, self.runner.python, held)

    def _kernel_names(self) -> dict[str, str]:
        """The kernelspecs this server starts, name → display name (a notebook job's kernel is one)."""
        manager = getattr(self.serverapp, "kernel_spec_manager", None)
        if manager is None:
            from jupyter_client.kernelspec import KernelSpecManager

            manager = KernelSpecManager()
        specs = manager.get_all_specs()
        return {name: spec.get("spec", {}).get("display_name", name) for name, spec in specs.items()}

    def _mark_jobs_active(self) -> None:
        """While a job is queued or running, the server is busy: any ``*_last_activity`` setting counts in
        ``ServerApp.last_activity()``, which jupyterhub-singleuser reports to the Hub."""
        if not self.jobs_keep_server_active or self.serverapp is None:
            return
        if self.store.tasks.brief(active_only=True):
            self.serverapp.web_app.settings["trio_jobs_last_activity"] = utcnow()

    def _sample_while_listened(self, listeners: int) -> None:
        for sampler in self._samplers:
            if listeners and not sampler.is_running():
                sampler.start()
            elif not listeners and sampler.is_running():
                sampler.stop()

    def route_table(self) -> list[tuple[str, type]]:
        """Route patterns (without base_url) and handler classes, as served."""
        return [(pattern, handler) for pattern, handler, *_ in routes.ROUTES]

    def initialize_handlers(self) -> None:
        self.handlers.extend(routes.ROUTES)

    def _tick(self) -> None:
        """One step of the runner (record ended runs, start queued ones), then of the running sweeps."""
        self.runner.tick()
        if self.runner.active:
            self.sweeps.tick()
            self.schedules.tick()

    async def stop_extension(self) -> None:
        # Jobs are left running on purpose: the next server on this workspace re-attaches to them.
        if self._runner_loop is not None:
            self._runner_loop.stop()
        for sampler in self._samplers:
            sampler.stop()
        if self._activity_loop is not None:
            self._activity_loop.stop()
        if getattr(self, "runner", None) is not None:
            self.runner.release()
        if getattr(self, "notifier", None) is not None:
            self.notifier.close()
        if getattr(self, "hub_schedules", None) is not None:
            self.hub_schedules.close()
        if getattr(self, "tasks", None) is not None:
            self.tasks.close()
        if getattr(self, "workspace_files", None) is not None:
            self.workspace_files.decoder.shutdown(wait=False, cancel_futures=True)
        if getattr(self, "samplers", None) is not None:
            await self.samplers.shutdown()
        if getattr(self, "runner", None) is not None:
            self.runner.gpu_source.close()
        if getattr(self, "folder_watch", None) is not None:
            self.folder_watch.close()
        if getattr(self, "provenance", None) is not None:
            self.provenance.close()
        store = getattr(self, "store", None)
        if store is not None:
            store.close()


def main() -> None:
    """``jupyter trio``: a Jupyter server with jupyter-trio, opened on its health page;
    ``jupyter trio check [WORKSPACE] [--repair]``: verify a workspace's store against its folders."""
    if sys.argv[1:2] == ["check"]:
        from .check import TrioCheckApp

        TrioCheckApp.launch_instance(sys.argv[2:])
        return
    TrioApp.launch_instance()


def freeze_heap() -> None:
    """Collect once, then exempt every surviving object from later collections (see freeze_startup_heap)."""
    gc.collect()
    gc.freeze()

"""``RayExecutor``: runs go to a Ray cluster as Ray jobs (``ray.job_submission.JobSubmissionClient``).

- A run's Ray ``submission_id`` is derived from the run (``trio-<workspace tag>-<task id>-<run index>``; the
  tag is made once per workspace, ``ray.tag``, so two workspaces on one cluster never collide): a restarted
  server finds its jobs by id, and Ray refuses a second job of the same run, so a run is never submitted
  twice.
- Runs wait in *our* queue until the cluster has room (``RayCluster.place``, from the cluster's resource
  usage); a queued run says why it waits. A job Ray still fails for not starting in time
  (``RAY_JOB_START_TIMEOUT_SECONDS``) fails here with Ray's reason.
- GPU runs ask ``entrypoint_num_gpus`` (Ray sets ``CUDA_VISIBLE_DEVICES``), every run
  ``entrypoint_num_cpus``; the run's env goes in ``runtime_env.env_vars``; the entrypoint is
  ``ray_entry.py``, which jupyter-trio on the workers provides.
- Ray's job log (everything after ``ray_entry.MARKER``) is copied into the run's ``output.log``: the run's
  log file is the cursor (bytes in the file = bytes of the job's log already copied), so nothing is
  copied twice or lost across a server restart. Only whole lines are copied while the job runs.
- Without a shared filesystem (``c.RayExecutor.shared_filesystem = False``) the job's inputs (task folder,
  dataset, parent task, script folder) travel as the job's ``working_dir``, and its points, records and
  output files come back through the ingest routes with the run's token (``services/ingest.py``).

All calls to Ray are made by one worker thread; the runner only reads what it last heard. Settings are
``c.RayExecutor.*`` (``address``, ``shared_filesystem``, ``server_url``, ``python``, ``cpus_per_job``,
``runtime_env``; ``c.TrioApp.ray_*`` are their deprecated aliases).
"""

from __future__ import annotations

import logging
import math
import os
import queue
import shlex
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets import Bool, Dict, Float, TraitError, Unicode, validate
from traitlets.config import Configurable

from ..domain import JSONObject, Run, ScheduledRun
from ..vocabulary import TRAINER_KINDS
from .executor import Executor, JobResult, JobSpec, JobState, Key, ServerContext, Started, output_folders
from .gpu_sources import GPUSource, GPUStatus
from .gpus import GPU
from .ray_entry import MARKER, RayJobSpec
from .scheduler import Placement

if TYPE_CHECKING:
    from ..services.run_tokens import RunTokens
    from ..store import Store

log = logging.getLogger(__name__)

INGEST_PATH = "/trio/api/ingest"  # under the server's URL: the ingest routes (and the claim's)
LOOP_S = 0.25  # how often the worker thread asks Ray about running jobs
LOGS_EVERY_S = 0.5  # and copies a running job's log (Ray serves the whole log each time)
CLUSTER_EVERY_S = 1.0  # and about the cluster's free resources
LOST_AFTER_S = 30.0  # a job Ray says it does not know, for this long (the dashboard answering), is lost
LOG_TRIES = 5  # failed reads of an ended job's log before its run is recorded without the rest
SUBMIT_TRIES = 5  # submissions that failed for the network before the run fails
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def workspace_tag(store: Store) -> str:
    """A short random name of this workspace's database, made once (a workspace setting): two workspaces,
    or a workspace whose database was made anew, never share submission ids on one cluster."""
    import secrets

    return store.settings.setdefault("", "ray_tag", secrets.token_hex(5))


@dataclass
class _Job:
    sid: str
    run_dir: Path
    cpus: float
    gpus: int
    submitted: bool = False
    status: str = "SUBMITTING"
    message: str = ""
    exit_code: int | None = None
    ended_at: float | None = None
    error: str = ""  # why it could not be submitted
    unknown_since: float | None = None  # monotonic time Ray first said it has no such job
    logs_done: bool = False
    log_failures: int = 0
    submit_failures: int = 0
    logs_at: float = 0.0
    note: str = ""  # what the run's message adds (the rest of the log could not be read)


@dataclass(frozen=True)
class RayJobStatus:
    """What Ray says of a job (``JobSubmissionClient.get_job_info``), as far as a run needs it."""

    status: str  # PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED
    message: str = ""
    driver_exit_code: int | None = None
    end_time: float | None = None  # seconds since the epoch

    @classmethod
    def from_info(cls, info: Any) -> RayJobStatus:
        code, end = getattr(info, "driver_exit_code", None), getattr(info, "end_time", None)
        return cls(
            status=str(getattr(info.status, "value", info.status)),
            message=str(getattr(info, "message", "") or ""),
            driver_exit_code=code if isinstance(code, int) else None,
            end_time=end / 1000 if end else None,  # Ray's milliseconds
        )


@dataclass
class RaySubmission:
    """One ``JobSubmissionClient.submit_job`` call, and the inputs staged as its working_dir (without a
    shared filesystem)."""

    submission_id: str
    entrypoint: str
    runtime_env: JSONObject
    entrypoint_num_cpus: float
    metadata: dict[str, str]
    entrypoint_num_gpus: int = 0
    stage: list[tuple[str, Path]] | None = None  # (place in the working_dir, server path)

    def kwargs(self, working_dir: Path | None = None) -> dict[str, object]:
        """The call's arguments: what Ray lists of the job to whoever reaches its dashboard."""
        runtime_env = dict(self.runtime_env)
        if working_dir is not None:
            runtime_env |= {"working_dir": str(working_dir), "excludes": ["workspace/tasks/*/runs/"]}
        call: dict[str, object] = {
            "entrypoint": self.entrypoint,
            "submission_id": self.submission_id,
            "runtime_env": runtime_env,
            "entrypoint_num_cpus": self.entrypoint_num_cpus,
            "metadata": self.metadata,
        }
        if self.entrypoint_num_gpus:
            call["entrypoint_num_gpus"] = self.entrypoint_num_gpus
        return call


PYTHON_PROBE = "import jupyter_trio, jupyter_trio.runner.ray_entry"
PYTHON_RECHECK_S = 60.0  # after a failed check, the next one


@dataclass
class PythonCheck:
    """Whether the nodes' Python can run our jobs: ``checking`` (a probe job is out or about to be),
    ``ok``, or ``failed`` with the reason and the fix in ``error``."""

    state: str = "checking"
    error: str = ""
    sid: str | None = None
    finished_at: float = 0.0

    def fail(self, error: str, now: float) -> None:
        self.state, self.error, self.sid, self.finished_at = "failed", error, None, now


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


@dataclass
class ClusterView:
    """What the cluster has: totals per node and free resources (cluster-wide), as last heard."""

    reachable: bool = False
    error: str = "not asked yet"
    free_cpus: float = 0.0
    free_gpus: float = 0.0
    total_cpus: float = 0.0
    total_gpus: float = 0.0
    node_cpus: list[float] = field(default_factory=list)
    node_gpus: list[float] = field(default_factory=list)


class RayCluster(GPUSource):
    """Placement for the Ray executor: by the cluster's free CPUs and GPUs, not this machine's."""

    def __init__(self, executor: RayExecutor, **kwargs: Any):
        super().__init__(**kwargs)
        self.executor = executor
        self._waiting: dict[Key, str] = {}

    def inventory(self) -> list[GPU]:
        return []  # Ray's GPUs are not this machine's; health shows the cluster under ``executor``

    def max_gpus(self) -> int | None:
        return None

    def check(self, count: int, task_name: str) -> None:
        """Nothing is refused up front: the cluster may grow (an autoscaler); a run that cannot fit waits
        with the reason in its message."""

    def place(
        self, queue: list[ScheduledRun], busy: set[int], cpu_slots: int, shared: dict[int, int] | None = None
    ) -> list[Placement]:
        view = self.executor.cluster
        free_cpus, free_gpus = view.free_cpus, view.free_gpus
        for job in self.executor.starting():  # submitted, not yet counted in the cluster's usage
            free_cpus -= job.cpus
            free_gpus -= job.gpus
        per_job = self.executor.cpus_per_job
        placements, waiting = [], {}
        for item in queue:
            key = item.key
            gpus = max(0, item.gpu_count)
            if not view.reachable:
                waiting[key] = f"waiting for the Ray cluster at {self.executor.endpoint}: {view.error}"
                continue
            fits_node = any(
                c >= per_job and g >= gpus for c, g in zip(view.node_cpus, view.node_gpus or [0.0] * 99)
            )
            if not fits_node:
                waiting[key] = (
                    f"the Ray cluster has no node with {per_job:g} CPU(s) and {gpus} GPU(s) for this run "
                    f"(its nodes: {_nodes(view)}); it waits until one joins"
                )
                continue
            if free_cpus + 1e-9 < per_job or free_gpus + 1e-9 < gpus:
                waiting[key] = (
                    f"waiting for the Ray cluster: {max(free_cpus, 0):g} of {view.total_cpus:g} CPU(s) and "
                    f"{max(free_gpus, 0):g} of {view.total_gpus:g} GPU(s) free; it needs {per_job:g} and "
                    f"{gpus}"
                )
                continue
            check = self.executor.python_check
            if check.state != "ok":  # it would fit, but the nodes' Python is not known to run it yet
                waiting[key] = check.error or (
                    f"checking that the Ray nodes' Python ({self.executor.python!r}) has jupyter-trio"
                )
                continue
            free_cpus -= per_job
            free_gpus -= gpus
            placements.append(Placement(key, []))
        self._waiting = waiting
        return placements

    def waiting(self) -> dict[Key, str]:
        return dict(self._waiting)

    def status(self, running: list[ScheduledRun]) -> list[GPUStatus]:
        return []


def _nodes(view: ClusterView) -> str:
    gpus = view.node_gpus or [0.0] * len(view.node_cpus)
    return ", ".join(f"{c:g} CPU/{g:g} GPU" for c, g in zip(view.node_cpus, gpus)) or "none"


class RayExecutor(Executor):
    """Runs go to a Ray cluster as Ray jobs (see the module's documentation)."""

    name = "ray"

    address = Unicode(
        "",
        config=True,
        help="The Ray cluster's dashboard (Jobs API) address, e.g. 'http://head:8265'. Empty: "
        "$RAY_API_SERVER_ADDRESS or $RAY_ADDRESS if set, else http://127.0.0.1:8265.",
    )
    shared_filesystem = Bool(
        True,
        config=True,
        help="Do the Ray nodes see this server's workspace and root_dir at the same paths (NFS home, a "
        "shared volume)? If not, a job's inputs travel as its working_dir (Ray's limit: about 500 MiB) and "
        "its points, records, logs and output files come back through /trio/api/ingest (see server_url).",
    )
    server_url = Unicode(
        "",
        config=True,
        help="This Jupyter server's URL as the Ray nodes reach it (with base_url), for jobs without a shared "
        "filesystem. Empty: the server's own connection URL.",
    )
    python = Unicode(
        "python",
        config=True,
        help="The Python that runs jobs on the Ray nodes (jupyter-trio, and PaddlePaddle for training, "
        "installed in it).",
    )
    cpus_per_job = Float(
        1.0,
        config=True,
        help="CPUs each job reserves on the cluster (entrypoint_num_cpus); also the job's OMP_NUM_THREADS.",
    )
    runtime_env = Dict(
        config=True,
        help="Added to every job's runtime_env (pip, conda, container, env_vars...).",
    )
    system_metrics_interval = Float(
        1.0,
        config=True,
        help="Seconds between samples of a Ray job's system metrics, taken on its node (sys/cpu, sys/rss, "
        "sys/io_read, sys/io_write, sys/gpu<N>_*): into the run folder on a shared filesystem, sent back "
        "with the job's points otherwise. 0 turns them off.",
    )

    @validate("cpus_per_job")
    def _validate_cpus_per_job(self, proposal: Any) -> float:
        if proposal["value"] <= 0:
            raise TraitError("cpus_per_job must be more than 0")
        return proposal["value"]

    def __init__(
        self,
        *,
        workspace: Path,
        root_dir: Path,
        tag: str,
        tokens: RunTokens | None = None,
        own_url: Callable[[], str] = lambda: "",
        stop_wait_s: float = 10.0,
        **kwargs: Any,
    ):
        """``workspace``, ``root_dir``: the server's folders; ``tag``: the workspace's Ray tag
        (``workspace_tag``); ``tokens``: the run-token issuer (a job's claim); ``own_url``: the server's own
        URL, asked per job (the server knows its port only once it listens), used without ``server_url``;
        ``stop_wait_s``: a stopped job's time between SIGTERM and SIGKILL. The rest: traits."""
        super().__init__(**kwargs)
        self.endpoint = (
            self.address
            or os.environ.get("RAY_API_SERVER_ADDRESS")
            or (os.environ.get("RAY_ADDRESS") or "").replace("ray://", "http://")
            or "http://127.0.0.1:8265"
        ).rstrip("/")
        self.workspace = Path(workspace)
        self.root_dir = Path(root_dir)
        self._own_url = own_url
        self.tokens = tokens
        self.stop_wait_s = stop_wait_s
        self.tag = tag
        if not self.shared_filesystem and not self.server_url:
            self.log.warning(
                "Ray jobs without a shared filesystem send their data to this server's own URL; set "
                "c.RayExecutor.server_url if the Ray nodes reach it by another name"
            )
        self.cluster = ClusterView()
        self._jobs: dict[str, _Job] = {}
        self._stops: set[str] = set()  # jobs to stop (kept apart: a run may be forgotten right after)
        self._lock = threading.Lock()
        self._submits: queue.Queue[tuple[_Job, RaySubmission]] = queue.Queue()
        self._client: Any = None
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trio-ray", daemon=True)
        self._cluster_at = 0.0
        # the nodes' Python, checked once a server (and again a minute after a failed check): a Python
        # without jupyter-trio would fail every job with ModuleNotFoundError, so runs wait saying why
        self.python_check = PythonCheck()

    def submission_id(self, key: Key) -> str:
        return f"trio-{self.tag}-{key[0]}-{key[1]}"

    @classmethod
    def for_server(cls, context: ServerContext, parent: Configurable | None = None) -> RayExecutor:
        if context.store is None:
            raise ValueError("the Ray executor needs the workspace's store (its Ray tag)")
        return cls(
            parent=parent,
            workspace=context.workspace,
            root_dir=context.root_dir,
            tag=workspace_tag(context.store),
            tokens=context.run_tokens,
            own_url=context.server_url,
            stop_wait_s=context.cancel_grace_s,
        )

    def job_server_url(self) -> str:
        """The server's URL as a job reaches it ("" when unknown): ``server_url``, else its own."""
        url = self.server_url or self._own_url()
        return url.rstrip("/") + "/" if url else ""

    def resources(self) -> GPUSource:
        return RayCluster(self, parent=self)

    def describe(self) -> dict[str, Any]:
        view = self.cluster
        return {
            "name": self.name,
            "address": self.endpoint,
            "shared_filesystem": self.shared_filesystem,
            "job_prefix": f"trio-{self.tag}-",  # this workspace's Ray submission ids start so
            "reachable": view.reachable,
            "error": "" if view.reachable else view.error,
            "cpus": {"free": view.free_cpus, "total": view.total_cpus},
            "gpus": {"free": view.free_gpus, "total": view.total_gpus},
            "python": {
                "python": self.python,
                "state": self.python_check.state,
                "error": self.python_check.error,
            },
        }

    def starting(self) -> list[_Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.status in ("SUBMITTING", "PENDING")]

    # ---- the executor interface (called on the server's loop: no network here)
    def start(self) -> None:
        self._thread.start()

    def submit(self, spec: JobSpec) -> Started:
        sid = self.submission_id(spec.key)
        job = _Job(sid, spec.run_dir, self.cpus_per_job, spec.gpu_count)
        request = self._request(spec, sid)
        with self._lock:
            self._jobs[sid] = job
        self._submits.put((job, request))
        return Started(handle=sid)

    def poll(self, run: Run, run_dir: Path) -> JobState:
        sid = run.handle or self.submission_id(run.key)
        with self._lock:
            job = self._jobs.get(sid)
            if job is None:  # a job the last server started: watch it from now on
                job = self._jobs[sid] = _Job(sid, run_dir, self.cpus_per_job, 0, submitted=True, status="")
        if job.error:
            return JobState(alive=False, result=JobResult(None, time.time(), error=job.error))
        if job.unknown_since is not None and time.monotonic() - job.unknown_since > LOST_AFTER_S:
            return JobState(
                alive=False,
                message=f"the Ray cluster has no job {sid} any more (the cluster restarted, or the job was "
                "deleted)",
            )
        if job.status in TERMINAL and job.logs_done:
            return JobState(alive=False, result=self._result(job))
        if job.status in ("SUBMITTING", "PENDING"):
            return JobState(
                alive=True, message=f"submitted to Ray as {sid}; waiting for the cluster to start it"
            )
        return JobState(alive=True, message="")

    def cancel(self, run: Run, grace_s: float) -> None:
        self._stop(run)

    def kill(self, run: Run) -> None:
        self._stop(run)  # Ray escalates to SIGKILL itself after RAY_JOB_STOP_WAIT_TIME_S

    def forget(self, key: Key) -> None:
        with self._lock:
            self._jobs.pop(self.submission_id(key), None)

    def close(self) -> None:
        self._closed.set()

    def _stop(self, run: Run) -> None:
        with self._lock:
            self._stops.add(run.handle or self.submission_id(run.key))

    def _result(self, job: _Job) -> JobResult:
        from .logs import failure_message

        ray_line = job.message.split("\n", 1)[0].split(", last available logs")[0].strip()
        error = ""
        if job.status == "FAILED":
            if job.exit_code is None:  # never ran: Ray's reason is the whole story
                error = f"Ray: {ray_line or 'the job failed before it started'}"
            else:
                error = f"{failure_message(job.run_dir, job.exit_code)} (Ray: {ray_line})"
        elif job.status == "STOPPED":
            error = f"Ray: {ray_line or 'stopped'}"
        error = "; ".join(part for part in (error, job.note) if part)  # the note adds, it never hides Ray's
        return JobResult(
            exit_code=job.exit_code,
            ended_at=job.ended_at or time.time(),
            cancelled=job.status == "STOPPED",
            error=error,
        )

    # ---- what is sent to Ray
    def _request(self, spec: JobSpec, sid: str) -> RaySubmission:
        env = dict(spec.env)
        for name in ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER"):  # Ray sets the devices of the job
            env.pop(name, None)
        if "OMP_NUM_THREADS" not in spec.task.env:
            env["OMP_NUM_THREADS"] = str(max(1, math.floor(self.cpus_per_job)))
        argv = list(spec.argv)
        if spec.python_job:
            argv[0] = self.python
        outputs = output_folders(self.workspace / "tasks" / spec.task.id, spec.task)
        # Ray shows a job's spec to anyone who reaches its dashboard: the run's token is not in it, only a
        # one-time claim the entrypoint trades for it (services/run_tokens.py)
        env.pop("TRIO_TOKEN", None)
        server = self.job_server_url()
        if server and self.tokens is not None:
            env["TRIO_SERVER_URL"] = server
            env["TRIO_TOKEN_CLAIM"] = self.tokens.claim(*spec.key)
            if not self.shared_filesystem:
                env["TRIO_INGEST_URL"] = f"{server.rstrip('/')}{INGEST_PATH}/{spec.key[0]}/{spec.key[1]}"
        elif not self.shared_filesystem:
            raise ValueError("the Ray executor without a shared filesystem needs the server's URL")
        else:
            env.pop("TRIO_SERVER_URL", None)
        job = RayJobSpec(
            argv=argv,
            cwd=spec.cwd,
            env=env,
            shared=self.shared_filesystem,
            workspace=str(self.workspace),
            root=str(self.root_dir),
            outputs=[str(p) for p in outputs],
            sample_s=self.system_metrics_interval,
        )
        runtime_env = {k: v for k, v in self.runtime_env.items() if k != "env_vars"}
        runtime_env["env_vars"] = {
            **self.runtime_env.get("env_vars", {}),
            "TRIO_RAY_JOB": job.to_json(),
            "PYTHONUNBUFFERED": "1",
            # Ray's stop: SIGTERM, then SIGKILL after this long (the supervisor reads its own env)
            "RAY_JOB_STOP_WAIT_TIME_S": str(max(1, int(self.stop_wait_s))),
        }
        return RaySubmission(
            submission_id=sid,
            entrypoint=f"{shlex.quote(self.python)} -m jupyter_trio.runner.ray_entry",
            runtime_env=runtime_env,
            entrypoint_num_cpus=self.cpus_per_job,
            metadata={"jupyter_trio_task": spec.task.name, "jupyter_trio_run": str(spec.key[1])},
            entrypoint_num_gpus=spec.gpu_count,
            stage=None if self.shared_filesystem else self._inputs(spec),
        )

    def _inputs(self, spec: JobSpec) -> list[tuple[str, Path]]:
        """(place in the job's working_dir, server path) of what the job reads."""
        inputs: list[Path] = [self.workspace / "tasks" / spec.task.id]
        if spec.task.kind in TRAINER_KINDS:
            config = spec.task.config
            for name in ("dataset_dir", "parent_task_dir"):
                if isinstance(config.get(name), str):
                    inputs.append(Path(config[name]))
            inputs += [Path(p) for p in config.get("inputs") or [] if isinstance(p, str)]
        elif spec.task.kind in ("script", "notebook_job"):  # the script's or notebook's folder
            inputs.append(Path(spec.cwd))
        places = []
        for path in inputs:
            if path.is_relative_to(self.workspace):
                places.append((f"workspace/{path.relative_to(self.workspace).as_posix()}", path))
            elif path.is_relative_to(self.root_dir):
                places.append((f"root/{path.relative_to(self.root_dir).as_posix()}", path))
        return places

    # ---- the worker thread: every call to Ray
    def _loop(self) -> None:
        while not self._closed.is_set():
            try:
                self._work()
            except Exception:  # one failed round must not stop the thread
                log.exception("Ray executor round failed")
            self._closed.wait(LOOP_S)

    def _connect(self) -> Any:
        if self._client is None:
            from ray.job_submission import JobSubmissionClient

            self._client = JobSubmissionClient(self.endpoint, headers=ray_auth_headers() or None)
        return self._client

    def _work(self) -> None:
        now = time.monotonic()
        try:
            client = self._connect()
        except Exception as exc:  # the cluster is away: runs wait, and say why
            self.cluster = ClusterView(reachable=False, error=_short(exc))
            return
        if now - self._cluster_at > CLUSTER_EVERY_S:
            self._cluster_at = now
            self._read_cluster()
        if self.cluster.reachable and self.python_check.state != "ok":
            self._check_python(client, now)
        with self._lock:
            stops, self._stops = self._stops, set()
        retry = []
        while True:
            try:
                job, request = self._submits.get_nowait()
            except queue.Empty:
                break
            if job.sid in stops:  # cancelled before it reached Ray
                job.error = "cancelled before it was submitted to Ray"
                continue
            if not self._submit(client, job, request):
                retry.append((job, request))
        for item in retry:
            self._submits.put(item)
        for sid in stops:
            try:
                client.stop_job(sid)
            except Exception as exc:
                if "does not exist" not in str(exc) and "404" not in str(exc):
                    log.info("Ray stop_job(%s): %s; trying again", sid, _short(exc))
                    with self._lock:
                        self._stops.add(sid)
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            if job.submitted and not job.logs_done:
                self._follow(client, job)

    def _check_python(self, client: Any, now: float) -> None:
        """One tiny job, ``<python> -c "import jupyter_trio"`` with the jobs' runtime_env: its outcome
        decides whether runs may start (see ``PythonCheck``)."""
        check = self.python_check
        if check.sid is None:
            if check.state == "failed" and now - check.finished_at < PYTHON_RECHECK_S:
                return
            sid = f"trio-{self.tag}-python-check-{int(time.time())}"
            try:
                client.submit_job(
                    entrypoint=f"{shlex.quote(self.python)} -c {shlex.quote(PYTHON_PROBE)}",
                    submission_id=sid,
                    entrypoint_num_cpus=0,
                    runtime_env=dict(self.runtime_env) or None,
                )
            except Exception as exc:
                check.fail(f"the Ray cluster refused the check of its Python: {_short(exc)}", now)
                return
            check.sid = sid
            return
        try:
            status = str(client.get_job_status(check.sid))
        except Exception as exc:  # not answered: ask again next round
            log.info("Ray python check %s: %s", check.sid, _short(exc))
            return
        if status.endswith("SUCCEEDED"):
            check.state, check.error, check.sid = "ok", "", None
        elif status.endswith(("FAILED", "STOPPED")):
            try:
                last = _last_line(client.get_job_logs(check.sid))
            except Exception:
                last = ""
            check.fail(
                f"the Ray nodes' Python ({self.python!r}) cannot run jupyter-trio's jobs"
                + (f" ({last})" if last else "")
                + ": install jupyter-trio in that Python on every node (or in c.RayExecutor.runtime_env), or "
                "set c.RayExecutor.python to a Python that has it; runs wait and start once it can",
                now,
            )

    def _submit(self, client: Any, job: _Job, request: RaySubmission) -> bool:
        """Send one job to Ray; False when it should be tried again (the cluster did not answer)."""
        staging = None
        try:
            if request.stage is not None:
                staging = self._stage(job.sid, request.stage)
            client.submit_job(**request.kwargs(working_dir=staging))
        except Exception as exc:
            text = str(exc)
            if "already exists" in text or self._exists(client, job.sid):
                pass  # submitted before (a restart, or a lost reply): that job is this run's
            elif _answered(exc) or job.submit_failures + 1 >= SUBMIT_TRIES:
                job.error = f"Ray refused the job: {_short(exc)}"
                log.warning("Ray refused run %s: %s", job.sid, text[:2000])
                return True
            else:
                job.submit_failures += 1
                log.info("Ray submit_job(%s): %s; trying again", job.sid, _short(exc))
                return False
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        job.submitted = True
        job.status = "PENDING"
        return True

    @staticmethod
    def _exists(client: Any, sid: str) -> bool:
        try:
            client.get_job_info(sid)
        except Exception:
            return False
        return True

    def _stage(self, sid: str, places: list[tuple[str, Path]]) -> Path:
        """A folder of links to the job's inputs; Ray packs what they point to into the job's working_dir."""
        staging = self.workspace / "ray-staging" / sid
        shutil.rmtree(staging, ignore_errors=True)
        for place, path in places:
            link = staging / place
            link.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() and not link.exists():
                os.symlink(path, link)
        (staging / "workspace").mkdir(parents=True, exist_ok=True)
        (staging / "root").mkdir(parents=True, exist_ok=True)
        return staging

    def _follow(self, client: Any, job: _Job) -> None:
        try:
            info = client.get_job_info(job.sid)
        except Exception as exc:
            text = str(exc)
            if "404" in text or "does not exist" in text or "not found" in text.lower():
                if job.unknown_since is None:
                    job.unknown_since = time.monotonic()
            else:
                log.info("Ray get_job_info(%s): %s", job.sid, _short(exc))
            return
        job.unknown_since = None
        told = RayJobStatus.from_info(info)
        status = told.status
        job.message = told.message
        job.exit_code = told.driver_exit_code
        if told.end_time:
            job.ended_at = told.end_time
        final = status in TERMINAL
        now = time.monotonic()
        if status == "PENDING" or (not final and now - job.logs_at < LOGS_EVERY_S):
            job.status = status
            return
        job.logs_at = now
        try:
            text = client.get_job_logs(job.sid)
        except Exception as exc:
            job.status = status
            job.log_failures += 1
            log.info("Ray get_job_logs(%s): %s", job.sid, _short(exc))
            if final and job.log_failures >= LOG_TRIES:  # e.g. the node with the log is gone
                job.note = f"the end of the job's log could not be read from Ray: {_short(exc)}"
                job.logs_done = True
            return
        job.log_failures = 0
        self._copy_log(job, text, final=final)
        job.status = status
        job.logs_done = final

    @staticmethod
    def _copy_log(job: _Job, text: str, final: bool) -> None:
        data = text.encode("utf-8", errors="replace")
        start = data.find(MARKER.encode())
        if start < 0:
            if not final:
                return  # the job has not started yet: what is there is Ray's own preamble
            body = data  # it never started: Ray's lines say why
        else:
            newline = data.find(b"\n", start)
            body = data[newline + 1 :] if newline >= 0 else b""
        if not final:
            last = body.rfind(b"\n")
            body = body[: last + 1]  # whole lines only while it runs
        path = job.run_dir / "output.log"
        job.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            have = os.fstat(fd).st_size
            if len(body) > have:
                os.write(fd, body[have:])
        finally:
            os.close(fd)

    def _read_cluster(self) -> None:
        import httpx

        try:
            with httpx.Client(
                base_url=self.endpoint, headers=ray_auth_headers(), timeout=httpx.Timeout(3.0, connect=1.0)
            ) as http:
                status = http.get("/api/cluster_status").raise_for_status().json()
                nodes = (
                    http.get("/api/v0/nodes", params={"detail": "1", "limit": 1000}).raise_for_status().json()
                )
        except Exception as exc:
            self.cluster = ClusterView(reachable=False, error=_short(exc))
            return
        usage = status["data"]["clusterStatus"]["loadMetricsReport"]["usage"]
        alive = [n for n in nodes["data"]["result"]["result"] if n.get("state") == "ALIVE"]
        cpu_used, cpu_total = usage.get("CPU", [0.0, 0.0])
        gpu_used, gpu_total = usage.get("GPU", [0.0, 0.0])
        self.cluster = ClusterView(
            reachable=True,
            error="",
            free_cpus=cpu_total - cpu_used,
            free_gpus=gpu_total - gpu_used,
            total_cpus=cpu_total,
            total_gpus=gpu_total,
            node_cpus=[float(n.get("resources_total", {}).get("CPU", 0.0)) for n in alive],
            node_gpus=[float(n.get("resources_total", {}).get("GPU", 0.0)) for n in alive],
        )


def ray_auth_headers() -> dict[str, str]:
    """The ``Authorization`` header a Ray cluster with token authentication (Ray >= 2.5x) wants, found where
    Ray's own clients look: ``RAY_AUTH_TOKEN``, the file named by ``RAY_AUTH_TOKEN_PATH``, or
    ``~/.ray/auth_token`` (which ``ray.init()`` writes, and which makes every head started later on the
    machine require it). ``{}`` without a token, or with ``RAY_AUTH_MODE=disabled``; a cluster without
    authentication ignores the header."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return {}
    token = os.environ.get("RAY_AUTH_TOKEN", "").strip()
    if not token:
        path = os.environ.get("RAY_AUTH_TOKEN_PATH") or str(Path.home() / ".ray" / "auth_token")
        try:
            token = Path(path).read_text().strip()
        except (OSError, UnicodeDecodeError):
            token = ""
    return {"Authorization": f"Bearer {token}"} if token else {}


def _answered(exc: BaseException) -> bool:
    """Did Ray answer (and refuse), rather than not answer at all?"""
    return "status code" in str(exc) or isinstance(exc, ValueError)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[-1] if text else type(exc).__name__)[:300]

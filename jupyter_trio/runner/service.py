"""The runner: queue → placement → executor → result, and recovery after a server restart.

The database is the queue and the record of what runs where; the runner keeps no state that a
restart would lose. Every ``tick`` (``poll_interval`` seconds, and right after a submit or cancel):

1. running runs are asked of the executor that started them (``runs.executor``; see ``executor.py``):
   a known end → the run's result; the job gone without one → ``interrupted`` (or ``cancelled`` when a
   cancel was requested);
2. cancels past their grace period are killed (the local executor: SIGKILL for the whole process tree);
3. queued runs are placed on free GPUs / CPU slots (the GPU source; ``scheduler.plan``) and submitted to
   the configured executor.

Only one server drives a workspace's runner at a time (an exclusive ``flock`` on ``runner.lock``);
a second server on the same workspace serves the API and takes over when the first one stops.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..domain import Run, RunState, ScheduledRun, Task
from ..errors import Conflict, ValidationFailed
from ..store import Store
from ..store.task_files import materialize, write_config_twin
from ..vocabulary import ACTIVE, TRAINER_KINDS
from .executor import Executor, JobResult, JobSpec
from .gpu_sources import GPUSource, LocalGPUs
from .gpus import GPU
from .local_executor import LocalExecutor
from .logs import failure_message

log = logging.getLogger(__name__)

# Set by the runner for every job; a task's own env may not override them.
RESERVED_ENV = (
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "PYTHONUNBUFFERED",
    "TRIO_TASK_ID",
    "TRIO_TASK_NAME",
    "TRIO_TASK_DIR",
    "TRIO_RUN_INDEX",
    "TRIO_RUN_DIR",
    "TRIO_WORKSPACE",
    "TRIO_CONFIG",
    "TRIO_SERVER_URL",
    "TRIO_TOKEN",
    "TRIO_TOKEN_CLAIM",
    "TRIO_INGEST_URL",
    "TRIO_INGEST_TOKEN",
    "TRIO_NOTEBOOK",
    "TRIO_KERNEL",
    "TRIO_OUTPUT_DIR",
    "TRIO_GPU_MEMORY_MIB",
)


class Runner:
    def __init__(
        self,
        store: Store,
        *,
        gpus: list[GPU],
        max_cpu_jobs: int,
        root_dir: Path,
        cancel_grace_s: float = 10.0,
        python: str = sys.executable,
        gpu_source: GPUSource | None = None,
        executor: Executor | None = None,
        credentials: Callable[[str, int], dict[str, str]] | None = None,
    ):
        self.store = store
        # a job's own way back to the server: (task id, run index) -> TRIO_SERVER_URL and TRIO_TOKEN (a run
        # token, never the server's; services/run_tokens.py)
        self.credentials = credentials
        self.tasks = store.tasks
        # New runs go to ``executor``; a run is always polled by the executor that started it (local runs,
        # notebook runs among them, stay watched when the server is switched to another executor).
        self.local = executor if isinstance(executor, LocalExecutor) else LocalExecutor()
        self.executor = executor if executor is not None else self.local
        self.executors: dict[str, Executor] = {self.local.name: self.local, self.executor.name: self.executor}
        self._unknown_executors: set[str] = set()
        own = self.executor.resources()  # a cluster places GPUs itself
        self.gpu_source = (
            own if own is not None else gpu_source if gpu_source is not None else LocalGPUs(gpus)
        )
        self.gpu_source.on_granted = lambda: self.wake()
        for executor in self.executors.values():
            executor.on_job_ended = lambda: self.wake()
        self.max_cpu_jobs = max_cpu_jobs
        self.root_dir = Path(root_dir)
        self.cancel_grace_s = cancel_grace_s
        self.python = python
        self._lock_fd: int | None = None
        # called with the run's row after a run ends (the app re-indexes a train task's checkpoints)
        self.on_finish: list[Callable[[ScheduledRun], None]] = []
        # called with the task, the run index, its folder and its GPUs right after a job was handed to its
        # executor (the app records the run's provenance); must not block: the next start waits for it
        self.on_start: list[Callable[[Task, int, Path, list[int]], None]] = []
        # asks for a tick soon after a submit or cancel instead of at the next poll (the app schedules it
        # on its event loop); whoever queues or cancels calls it, so no caller has to remember to
        self.wake: Callable[[], None] = lambda: None

    @property
    def gpus(self) -> list[GPU]:
        """The GPUs jobs of this server may get (this machine's, or the Hub arbiter's inventory)."""
        return self.gpu_source.inventory()

    # ---- leadership
    @property
    def active(self) -> bool:
        return self._lock_fd is not None

    def try_lead(self) -> bool:
        if self._lock_fd is not None:
            return True
        fd = os.open(self.store.root / "runner.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def release(self) -> None:
        """Stop driving the workspace. Jobs keep running; the next server re-attaches to them."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        for executor in self.executors.values():
            executor.close()

    # ---- requests
    def submit(
        self,
        task: Task,
        *,
        priority: int | None = None,
        gpus: int | None = None,
        retry_of: int | None = None,
        not_before: float | None = None,
        message: str = "",
    ) -> int:
        """Queue a new run of ``task``; returns the run index. A retry names the run it retries and starts
        no sooner than ``not_before``."""
        if task.status in ACTIVE:
            raise Conflict(f"task {task.name!r} is already {task.status}; cancel it first")
        if task.kind == "notebook":
            raise Conflict(
                f"{task.name!r} is a notebook run: open its next run with jupyter_trio.init() in a kernel"
            )
        wanted = task.gpu_count if gpus is None else gpus
        if wanted < 0:
            raise ValidationFailed("gpus must be 0 (CPU only) or more")
        self.gpu_source.check(wanted, task.name)
        index = self.tasks.add_run(
            task.id, priority=priority, gpus=gpus, retry_of=retry_of, not_before=not_before, message=message
        )
        self.wake()
        return index

    def cancel(self, task: Task) -> Run | None:
        run = self.tasks.run(task.id, task.run_index) if task.run_index else None
        if run is None or run.status not in ACTIVE:
            raise Conflict(f"task {task.name!r} is not queued or running (status {task.status})")
        now = time.time()
        if run.status == "queued":
            self.gpu_source.release((task.id, run.run_index))  # a lease it may be waiting for
        if run.status == "queued" or task.kind == "notebook":
            # A notebook run's pid is the kernel's: stop tracking it, never signal the kernel.
            self.tasks.set_run(
                task.id,
                run.run_index,
                status="cancelled",
                ended_at=now,
                message="cancelled before it started"
                if run.status == "queued"
                else "closed from the server; the notebook kernel keeps running",
            )
        elif run.cancel_requested_at is None:
            self.tasks.set_run(task.id, run.run_index, cancel_requested_at=now)
            executor = self.executors.get(run.executor)
            if executor is not None:
                executor.cancel(run, self.cancel_grace_s)
        self.wake()
        return self.tasks.run(task.id, run.run_index)

    def kill_now(self, task: Task) -> None:
        """Cancel without a grace period (used before deleting a task)."""
        run = self.tasks.run(task.id, task.run_index) if task.run_index else None
        if run is None or run.status not in ACTIVE:
            return
        executor = self.executors.get(run.executor)
        if run.status == "running" and task.kind != "notebook" and executor is not None:
            executor.kill(run)
        self.tasks.set_run(
            task.id,
            run.run_index,
            status="cancelled",
            ended_at=time.time(),
            cancel_requested_at=time.time(),
        )
        if executor is not None:
            executor.forget((task.id, run.run_index))
        self.gpu_source.release((task.id, run.run_index))

    def record_ended(self) -> None:
        """Record the runs whose jobs have ended (a tick's first step), starting nothing."""
        if self.try_lead():
            self._poll_running()

    # ---- the loop
    def tick(self) -> None:
        if not self.try_lead():
            return
        try:
            self._poll_running()
            self._schedule()
        except Exception:  # one bad tick must not stop the runner
            log.exception("runner tick failed")

    def _poll_running(self) -> None:
        now = time.time()
        for item in self.tasks.running():
            run = item.run
            key = run.key
            executor = self.executors.get(run.executor)
            if executor is None:
                if run.executor not in self._unknown_executors:
                    self._unknown_executors.add(run.executor)
                    log.warning(
                        "run %s/%s was started by the %r executor, which this server does not use; it is "
                        "left as it is until a server configured with that executor watches it",
                        item.task_name,
                        run.run_index,
                        run.executor,
                    )
                continue
            state = executor.poll(run, self.store.layout.run_dir(*key))
            if state.result is not None:
                self._finish(item, state.result)
            elif not state.alive:
                self._finish(item, None, state.message)
            elif run.cancel_requested_at and now - run.cancel_requested_at > self.cancel_grace_s:
                log.warning(
                    "run %s/%s ignored the cancel for %.0fs; killing it",
                    item.task_name,
                    run.run_index,
                    self.cancel_grace_s,
                )
                executor.kill(run)
            elif state.message is not None and state.message != (run.message or ""):
                self.tasks.set_run(*key, message=state.message)

    def _finish(self, item: ScheduledRun, result: JobResult | None, lost: str | None = None) -> None:
        run = item.run
        key = run.key
        executor = self.executors.get(run.executor)
        if executor is not None:
            executor.forget(key)
        cancelled = run.cancel_requested_at is not None
        if result is None:
            status = RunState.CANCELLED if cancelled else RunState.INTERRUPTED
            code = -signal.SIGKILL if cancelled else None
            ended_at = time.time()
            message = (
                "killed after the cancel grace period"
                if cancelled
                else lost
                or "the job's supervisor ended without recording an exit (killed, or the machine restarted)"
            )
        else:
            code, ended_at, message = result.exit_code, result.ended_at, result.error
            if cancelled or result.cancelled:
                status = RunState.CANCELLED
            else:
                status = RunState.COMPLETED if code == 0 else RunState.FAILED
            if status == RunState.FAILED and not message:
                message = failure_message(self.store.layout.run_dir(*key), code)
        self.tasks.set_run(*key, status=status, exit_code=code, ended_at=ended_at, message=message)
        self.gpu_source.release(key)
        log.info("run %s/%s %s (exit code %s)", item.task_name, run.run_index, status, code)
        for hook in self.on_finish:
            try:
                hook(item)
            except Exception:  # a hook's failure must not stop the runner
                log.exception("on_finish hook failed for run %s/%s", item.task_name, run.run_index)

    def _schedule(self) -> None:
        now = time.time()
        # a retry waits out its back-off in the queue (its message says until when)
        queue = [q for q in self.tasks.queued() if q.run.not_before is None or q.run.not_before <= now]
        if not queue:
            return
        running = self.tasks.running()
        busy = {g for item in running for g in item.run.gpu_ids}
        cpu_busy = sum(1 for item in running if not item.run.gpu_ids)
        shared: dict[int, int] = {}  # MiB packed jobs hold per GPU
        for item in running:
            if item.gpu_memory and item.run.gpu_ids:
                shared[item.run.gpu_ids[0]] = shared.get(item.run.gpu_ids[0], 0) + item.gpu_memory
        for placement in self.gpu_source.place(queue, busy, self.max_cpu_jobs - cpu_busy, shared):
            self._start(placement.key, placement.gpus)
        for key, why in self.gpu_source.waiting().items():  # a cluster says why a run cannot start yet
            run = next((r.run for r in queue if r.key == key), None)
            if run is not None and run.message != why:
                self.tasks.set_run(*key, message=why)

    def _start(self, key: tuple[str, int], gpus: list[int]) -> None:
        try:
            self._launch(key, gpus)
        except Exception as exc:  # a run that cannot start fails with the reason, and gives its GPUs back
            log.exception("run %s/%s could not start", *key)
            now = time.time()
            self.tasks.set_run(*key, status="failed", started_at=now, ended_at=now, message=str(exc))
            self.gpu_source.release(key)

    def _launch(self, key: tuple[str, int], gpus: list[int]) -> None:
        task = self.tasks.get(key[0])
        run_dir = self.store.layout.run_dir(*key)
        try:
            argv, cwd = self.command_for(task)
        except (ValidationFailed, OSError) as exc:
            now = time.time()
            self.tasks.set_run(*key, status="failed", started_at=now, ended_at=now, message=str(exc))
            self.gpu_source.release(key)
            return
        materialize(self.store.layout, task.id, task.kind, task.config, task.command)
        if task.kind != "shell":
            write_config_twin(self.store.layout, task.id)
        env = self.env_for(task, key[1], run_dir, gpus)
        started = time.time()
        spec = JobSpec(
            key=key,
            task=task,
            argv=argv,
            cwd=cwd,
            env=env,
            run_dir=run_dir,
            gpus=gpus,
            gpu_count=len(gpus) or task.gpu_count,
            lease=self.gpu_source.lease_for(key) if gpus else None,
            python_job=argv[0] == self.python,
        )
        job = self.executor.submit(spec)
        self.tasks.set_run(
            *key,
            status="running",
            pid=job.pid,
            handle=job.handle,
            executor=self.executor.name,
            started_at=started,
            gpu_ids=gpus,
            message="",
        )
        for hook in self.on_start:
            try:
                hook(task, key[1], run_dir, gpus)
            except Exception:  # a hook's failure must not fail the run
                log.exception("on_start hook failed for run %s/%s", *key)

    # ---- what a job runs, and with which environment
    def command_for(self, task: Task) -> tuple[list[str], str]:
        kind = task.kind
        if kind == "script":
            script = self.root_dir / task.script_path
            if not script.is_file():
                raise ValidationFailed(f"script {task.script_path!r} no longer exists under the server root")
            return [self.python, "-u", str(script)], str(script.parent)
        if kind == "shell":
            return ["/bin/bash", "-c", task.command], str(self.root_dir)
        if kind == "notebook_job":
            notebook = self.root_dir / task.script_path
            if not notebook.is_file():
                raise ValidationFailed(
                    f"notebook {task.script_path!r} no longer exists under the server root"
                )
            return [self.python, "-u", "-m", "jupyter_trio.runner.notebook_job"], str(notebook.parent)
        if kind in TRAINER_KINDS:
            return [self.python, "-u", "-m", "jupyter_trio.trainers.job"], str(
                self.store.layout.task_dir(task.id)
            )
        raise ValidationFailed(f"tasks of kind {kind!r} cannot be run by this server")

    def env_for(self, task: Task, run_index: int, run_dir: Path, gpus: list[int]) -> dict[str, str]:
        task_dir = self.store.layout.task_dir(task.id)
        env = {str(k): str(v) for k, v in task.env.items()}
        env.update(
            {
                "TRIO_TASK_ID": task.id,
                "TRIO_TASK_NAME": task.name,
                "TRIO_TASK_DIR": str(task_dir),
                "TRIO_RUN_INDEX": str(run_index),
                "TRIO_RUN_DIR": str(run_dir),
                "TRIO_WORKSPACE": str(self.store.root),
                "CUDA_VISIBLE_DEVICES": ",".join(str(g) for g in gpus),
                # CUDA numbers devices fastest-first by default; NVML (and so our indices) by PCI bus
                "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.credentials is not None:
            env.update(self.credentials(task.id, run_index))
        if task.kind != "shell":
            env["TRIO_CONFIG"] = str(task_dir / "config.yaml")
        if task.gpu_memory and gpus:  # advisory: a torch job may cap itself (set_per_process_memory_fraction)
            env["TRIO_GPU_MEMORY_MIB"] = str(task.gpu_memory)
        if task.kind == "notebook_job":
            env["TRIO_NOTEBOOK"] = str(self.root_dir / task.script_path)
            env["TRIO_KERNEL"] = task.kernel
            env["TRIO_OUTPUT_DIR"] = str(run_dir / "outputs")
        if task.kind in TRAINER_KINDS and not gpus:
            # A CPU job gets its share of the cores, so max_cpu_jobs trainings do not oversubscribe them.
            share = max(1, (os.cpu_count() or 1) // max(1, self.max_cpu_jobs))
            env.setdefault("OMP_NUM_THREADS", str(share))
        return env


def check_env(env: dict[str, Any]) -> dict[str, str]:
    """Validate per-task environment variables; the runner's own names are not the user's to set."""
    out = {}
    for key, value in env.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key)):
            raise ValidationFailed(f"env: {key!r} is not a valid variable name")
        if str(key) in RESERVED_ENV:
            raise ValidationFailed(f"env: {key} is set by the runner and cannot be overridden")
        if not isinstance(value, (str, int, float, bool)):
            raise ValidationFailed(f"env: the value of {key} must be a string")
        out[str(key)] = str(value)
    return out

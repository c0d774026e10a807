"""What goes onto the events channel, and when: task and dataset changes as they commit, training progress
and GPU readings while somebody listens.

Task and dataset events come from the repositories' change hooks, so every writer (runner, services,
dialects) is covered without remembering to publish. Progress and GPU readings are sampled by the server
itself from the run folders and NVML — once a second and every two seconds — and only while at least
one client is connected; nothing is sampled when nobody listens.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from enum import StrEnum
from typing import Any

from ..domain import Dataset, Run, ScheduledRun, Task, TrialState
from ..runner.gpu_sources import GPUSource
from ..runner.gpus import gpu_processes, gpu_snapshot, os_user, unleased_seen_by_server
from ..store import Store
from ..store.metrics import MetricsReader
from .events import EventBus

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0
GPUS_EVERY_S = 2.0
# Summaries remembered to drop repeats (a set_run that changed only a pid); older ones are forgotten and at
# worst published once more.
REMEMBERED_TASKS = 20_000


def task_summary(task: Task) -> dict[str, Any]:
    """The fields of a task event: enough for a list row without another request."""
    return {
        "id": task.id,
        "name": task.name,
        "kind": task.kind,
        "status": task.status,
        "run": task.run_index,
        "gpus": list(task.gpu_ids),
        "gpus_requested": task.gpu_count,
        "pinned": task.pinned,
        "owner": task.owner,
        "parent_id": task.parent_id,
        "project_id": task.project_id,
        "exit_code": task.exit_code,
        "message": task.message or "",
        "created_at": task.created_at,
        "started_at": task.started_at,
        "ended_at": task.ended_at,
    }


def dataset_summary(dataset: Dataset) -> dict[str, Any]:
    return {
        "id": dataset.id,
        "name": dataset.name,
        "dataset_type": dataset.dataset_type,
        "status": dataset.status,
        "message": dataset.message,
        "num_images": dataset.attrs.get("num_images"),
    }


class EventSources:
    def __init__(self, bus: EventBus, store: Store, metrics: MetricsReader, source: GPUSource):
        self.bus = bus
        self.store = store
        self.metrics = metrics
        self.source = source
        self._tasks: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._tasks_lock = threading.Lock()
        self._progress: dict[tuple[str, int], dict[str, Any]] = {}
        self.gpu_readings: list[dict[str, Any]] = []
        store.tasks.on_change.append(self.task_changed)
        store.datasets.on_change.append(self.dataset_changed)
        store.sweeps.on_change.append(self.sweep_changed)
        self._sweeps: dict[str, dict[str, Any]] = {}  # the last summary published per sweep
        store.schedules.on_change.append(self.schedule_changed)

    # ---- changes, as they commit
    def task_changed(self, task_id: str) -> None:
        """A task's commit: publish what changed. Called from the loop and from worker threads (a batch
        created off the loop), so the summaries are kept under a lock."""
        task = self.store.tasks.get(task_id)
        if task is None:
            with self._tasks_lock:
                old = self._tasks.pop(task_id, None)
            self.bus.publish("task.deleted", task={"id": task_id, "name": old["name"] if old else None})
            return
        summary = task_summary(task)
        with self._tasks_lock:
            if self._tasks.get(task_id) == summary:
                return
            self._tasks[task_id] = summary
            self._tasks.move_to_end(task_id)
            while len(self._tasks) > REMEMBERED_TASKS:
                self._tasks.popitem(last=False)
        progress = self._progress.get((task_id, task.run_index))
        self.bus.publish("task", task={**summary, **(progress or {})})

    def dataset_changed(self, did: str) -> None:
        dataset = self.store.datasets.get(did)
        if dataset is None:
            self.bus.publish("dataset.deleted", dataset={"id": did})
            return
        self.bus.publish("dataset", dataset=dataset_summary(dataset))

    def sweep_changed(self, sweep_id: str) -> None:
        """A sweep or one of its trials changed: its state, trials done and best trial, when they moved
        (a trial started, pruned or completed; a new best)."""
        sweep = self.store.sweeps.get(sweep_id)
        if sweep is None:
            self._sweeps.pop(sweep_id, None)
            self.bus.publish("sweep.deleted", sweep={"id": sweep_id})
            return
        # counts and the best trial from the index: this runs at every change of a sweep, and reading every
        # trial made a trial's turn-around grow with the study (bench/sweep_bench.py, 2,000 trials)
        counts = self.store.sweeps.trial_counts(sweep_id)
        best = self.store.sweeps.best_trial(sweep_id, sweep.spec.objective)
        summary = {
            "id": sweep.id,
            "name": sweep.name,
            "state": sweep.state,
            "message": sweep.message,
            "n_trials": sweep.spec.n_trials,
            "trials": sum(counts.values()),
            "trials_done": sum(n for state, n in counts.items() if state != TrialState.RUNNING),
            "pruned": counts.get(TrialState.PRUNED, 0),
            "best": {"number": best.number, "value": best.value} if best else None,
        }
        if self._sweeps.get(sweep_id) == summary:
            return
        self._sweeps[sweep_id] = summary
        self.bus.publish("sweep", sweep=summary)

    def schedule_changed(self, schedule_id: str) -> None:
        """A schedule was made, changed or fired: its wire form (as GET /schedules/{id} serves it)."""
        schedule = self.store.schedules.get(schedule_id)
        if schedule is None:
            self.bus.publish("schedule.deleted", schedule={"id": schedule_id})
            return

        def name(task_id: str) -> str:
            task = self.store.tasks.get(task_id) if task_id else None
            return task.name if task else ""

        summary = dataclasses.asdict(schedule) | {
            "task": name(schedule.task_id),
            "last_task": name(schedule.last_task_id),
        }
        self.bus.publish(
            "schedule", schedule={k: str(v) if isinstance(v, StrEnum) else v for k, v in summary.items()}
        )

    def import_progress(self, did: str, fraction: float) -> None:
        """Called by the importer as it copies (a fraction of the files done)."""
        self.bus.publish("dataset.progress", dataset={"id": did, "progress": round(fraction, 3)})

    # ---- sampled while somebody listens
    def sample_progress(self) -> None:
        """Publish the progress/ETA of every running run whose record or series tell it, when it moved."""
        if not self.bus.listeners:
            return
        seen = set()
        for item in self.store.tasks.running():
            key = item.key
            seen.add(key)
            progress = self.progress_of(item.run)
            if progress is None or self._progress.get(key) == progress:
                continue
            self._progress[key] = progress
            self.bus.publish(
                "task.progress",
                task={"id": item.run.task_id, "name": item.task_name, "kind": item.kind, "status": "running"}
                | {"run": item.run.run_index, **progress},
            )
        for key in set(self._progress) - seen:
            del self._progress[key]

    def progress_of(self, run: Run) -> dict[str, Any] | None:
        run_dir = self.store.layout.run_dir(*run.key)
        if not run_dir.is_dir():
            return None
        record = self.metrics.record(run_dir)
        out: dict[str, Any] = {}
        if isinstance(record.get("progress"), (int, float)):
            out["progress"] = max(0.0, min(1.0, float(record["progress"])))
        if record.get("stage"):
            out["stage"] = str(record["stage"])
        for key in ("cell", "cells"):  # a notebook job: the code cell running, of how many
            if isinstance(record.get(key), int):
                out[key] = record[key]
        if isinstance(record.get("epoch"), int):
            out["epoch"] = record["epoch"]
        eta = self.metrics.last_point(run_dir, "eta_s")
        epochs, per_epoch = record.get("num_epochs"), record.get("steps_per_epoch")
        if eta is not None:
            step, remaining = eta
            out["eta_s"] = round(max(0.0, remaining), 1)
            out["step"] = step
            if "progress" not in out and isinstance(epochs, int) and isinstance(per_epoch, int):
                out["progress"] = round(min(1.0, step / max(1, epochs * per_epoch)), 4)
        if isinstance(epochs, int):
            out["num_epochs"] = epochs
        points = sum(self.metrics.series_names(run_dir).values())
        if points:
            out["points"] = points  # tracked points so far: charts of this run have something new
        return out or None

    def current_progress(self) -> list[dict[str, Any]]:
        """What the newest progress events said, per running run (a new listener's starting point)."""
        if not self._progress:
            for item in self.store.tasks.running():
                progress = self.progress_of(item.run)
                if progress is not None:
                    self._progress[item.key] = progress
        return [{"id": task_id, "run": run, **p} for (task_id, run), p in self._progress.items()]

    def sample_gpus(self) -> None:
        """One GPU reading for the listeners: NVML's figures and which task holds each GPU."""
        if not self.bus.listeners or not self.source.inventory():
            return
        self.gpu_readings = self.read_gpus()
        self.bus.publish("gpus", keep=False, gpus=self.gpu_readings)

    def read_gpus(self) -> list[dict[str, Any]]:
        """Per GPU: NVML's reading, whether it is yours / free / another user's (the Hub arbiter's view, with
        that user's name only where the admin allows), and which of this server's tasks holds it."""
        running = self.store.tasks.running()
        holders = {
            g: {"id": item.run.task_id, "name": item.task_name, "run": item.run.run_index}
            for item in running
            for g in item.run.gpu_ids
        }
        gpus = self.source.inventory()
        states = {s["index"]: s for s in self.source.status(running)}
        readings = {r["index"]: r for r in gpu_snapshot([g.index for g in gpus])}
        unleased = self.unleased_uses([g.index for g in gpus], running)
        return [
            {
                "index": gpu.index,
                "name": gpu.name,
                "utilization": None,
                "memory_used": None,
                "memory_total": gpu.memory_total or None,
                "temperature": None,
                **readings.get(gpu.index, {}),
                "state": states.get(gpu.index, {}).get("state", "free"),
                "user": states.get(gpu.index, {}).get("user"),
                "task": holders.get(gpu.index),
                "unleased": unleased.get(gpu.index, []),
            }
            for gpu in gpus
        ]

    def unleased_uses(self, indices: list[int], running: list[ScheduledRun]) -> dict[int, list[dict]]:
        """Per GPU, the processes NVML lists on it that none of this server's running jobs was given (GPU
        leases are advisory: only containers enforce them); nothing without NVML."""
        processes = gpu_processes(indices) if indices else []
        if not processes:
            return {}
        jobs: dict[int, list[int | None]] = {}
        for item in running:
            for g in item.run.gpu_ids:
                jobs.setdefault(g, []).append(item.run.pid)  # the job's supervisor leads its process group
        out: dict[int, list[dict]] = {}
        for process in unleased_seen_by_server(processes, jobs, os_user()):
            out.setdefault(process.gpu, []).append(process.to_dict())
        return out

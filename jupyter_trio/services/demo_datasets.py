"""PaddleX's demo projects, without network: "download" generates the demo dataset of a task type.

Each type's state: ``generating`` (with progress) → ``generated`` (written) → ``ready`` (checked,
ready to load), or ``failed`` (stopped or failed, with a message); the PaddleX dialect reports them as
its DownloadStatus (XDDOWNLOADING, XDDOWNLOADDONE, XDDECOMPRESSED, XDDOWNLOADFAIL). The data lives in
``<workspace>/demo_datasets/<type>/``; a ``.complete``
marker makes a finished demo survive server restarts. ``load`` imports it as a dataset, splits it and
creates a project bound to it — once: loading again returns the same ids.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..domain import DatasetState
from ..errors import Conflict, NotFound, ValidationFailed
from ..store import Store
from ..trainers import synthetic
from ..trainers.formats import scan
from ..vocabulary import DATASET_TYPES
from .dataset_import import import_folder, split_dataset
from .projects import ProjectService

DEMO_DIR = "demo_datasets"
MARKER = ".complete"
DEMO_SPLIT = (0.2, 0.1)


@dataclass
class DemoState:
    status: str = "failed"
    progress: float = 0.0
    message: str = ""
    started: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


@dataclass(frozen=True, slots=True)
class DemoLoad:
    """What loading a demo gave: its dataset and project, made now or found from an earlier load."""

    dataset_id: str
    project_id: str
    loading_status: str  # "created", or why nothing was made (PaddleX's loading_status)

    @property
    def created(self) -> bool:
        return self.loading_status == "created"


class DemoService:
    def __init__(self, store: Store, projects: ProjectService, images: int | None = None):
        self.store = store
        self.images = images
        self.projects = projects
        self._states: dict[str, DemoState] = {}
        self._lock = threading.Lock()
        for kind in DATASET_TYPES:
            state = DemoState()
            if (self.folder(kind) / MARKER).is_file():
                state.status, state.progress, state.started, state.message = "ready", 1.0, True, "ready"
            self._states[kind] = state

    def folder(self, kind: str) -> Path:
        return self.store.root / DEMO_DIR / kind

    def _state(self, kind: str) -> DemoState:
        if kind not in self._states:
            raise ValidationFailed(f"prj_type: no demo for {kind!r}; one of {', '.join(DATASET_TYPES)}")
        return self._states[kind]

    def status(self, kind: str) -> DemoState:
        state = self._state(kind)
        if not state.started:
            raise NotFound(
                f"the {kind} demo has not been downloaded; POST type=download first", code="not_started"
            )
        return state

    def download(self, kind: str) -> DemoState:
        """Start generating (no-op while running or when ready)."""
        with self._lock:
            state = self._state(kind)
            if state.status in ("generating", "generated", "ready") and state.started:
                return state
            state.stop = threading.Event()
            state.status, state.progress, state.message, state.started = "generating", 0.0, "generating", True
            state.thread = threading.Thread(
                target=self._generate, args=(kind, state), daemon=True, name=f"trio-demo-{kind}"
            )
            state.thread.start()
            return state

    def _generate(self, kind: str, state: DemoState) -> None:
        target = self.folder(kind)
        shutil.rmtree(target, ignore_errors=True)

        def report(fraction: float) -> None:
            state.progress = round(fraction, 3)

        try:
            synthetic.generate(kind, target, count=self.images, progress=report, stop=state.stop)
            state.status, state.message = "generated", "generated; checking"
            manifest, problems = scan(kind, target)
            if problems:
                raise ValueError(problems.message())
            (target / MARKER).write_text(f"{len(manifest.samples)}\n")
            state.status, state.progress, state.message = "ready", 1.0, f"{len(manifest.samples)} images"
        except synthetic.Stopped:
            shutil.rmtree(target, ignore_errors=True)
            state.status, state.message = "failed", "stopped by the user"
        except (OSError, ValueError) as exc:
            shutil.rmtree(target, ignore_errors=True)
            state.status, state.message = "failed", f"demo generation failed: {exc}"

    def stop(self, kind: str) -> DemoState:
        state = self._state(kind)
        if state.status == "generating":
            state.stop.set()
            if state.thread is not None:
                state.thread.join(30)
        return state

    def wait(self, kind: str, timeout: float | None = None) -> None:
        thread = self._state(kind).thread
        if thread is not None:
            thread.join(timeout)

    def load(self, kind: str, owner: str) -> DemoLoad:
        """Dataset (imported, split) + project for the demo; the same ids if it was loaded before."""
        state = self._state(kind)
        if state.status != "ready":
            raise Conflict(
                f"the {kind} demo is not ready (state {state.status}); download it first",
                code="demo_not_ready",
            )
        with self._lock:
            for dataset in self.store.datasets.list():
                if dataset.attrs.get("demo") == kind and dataset.status == DatasetState.SPLIT:
                    pids = self.store.datasets.project_ids(dataset.id)
                    if pids:
                        return DemoLoad(
                            dataset.id, pids[0], f"the {kind} demo dataset and project already exist"
                        )
            dataset = self.projects.create_dataset(owner, f"{kind} demo", f"generated {kind} demo data", kind)
            self.store.datasets.update(dataset.id, attrs={"demo": kind})
            dataset = self.projects.dataset(dataset.id)
            if not import_folder(self.store, dataset, self.folder(kind)):
                message = self.projects.dataset(dataset.id).message
                self.projects.delete_dataset(dataset.id)
                raise Conflict(f"the {kind} demo did not import: {message}")
            split_dataset(self.store, self.projects.dataset(dataset.id), *DEMO_SPLIT)
            project = self.projects.create_project(
                owner, f"{kind} demo", f"demo project on {kind} shapes", kind
            )
            self.projects.bind_dataset(project.id, dataset.id)
            return DemoLoad(dataset.id, project.id, "created")

"""Checkpoints of training runs: indexed from their folders, addressed by ``trio://`` paths, deleted safely.

A training run is a train or prune task. Its checkpoints are the folders its job wrote:
``checkpoints/epoch_<n>`` (``training``: weights + optimizer, resumable; ``trio://<run>/weights/epoch_<n>``)
and ``checkpoints/best_model`` (``sampler``: weights only; ``trio://<run>/sampler_weights/best_model``).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..domain import Checkpoint, CheckpointKind, Task, TaskBrief
from ..errors import Conflict, NotFound, ValidationFailed
from ..store import Store, resolve_inside
from ..trainers.checkpoints import checkpoint_root, complete_checkpoints, has_state, read_state
from ..vocabulary import ACTIVE, RUN_KINDS

SCHEME = "trio://"
# The Tinker SDK names the same checkpoints tinker://<run>/weights/<id>; both schemes address one folder.
SCHEMES = (SCHEME, "tinker://")
_SEGMENT = {"training": "weights", "sampler": "sampler_weights"}
_PATH = re.compile(r"^(?:trio|tinker)://(?P<run>[^/]+)/(?P<segment>weights|sampler_weights)/(?P<cid>[^/]+)$")


@dataclass(frozen=True)
class Located:
    """A checkpoint found by run and id (or by path): its task, its row and its folder."""

    task: Task
    row: Checkpoint
    folder: Path


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class CheckpointService:
    def __init__(self, store: Store):
        self.store = store

    # ---- keeping rows in step with folders
    def scan(self, task: Task | TaskBrief) -> list[Checkpoint]:
        """The complete checkpoints in ``task``'s folder, oldest first."""
        rows = []
        for folder, kind, epoch in complete_checkpoints(self.store.layout.task_dir(task.id)):
            try:
                state = read_state(folder)
            except (OSError, ValueError):
                continue
            rows.append(
                Checkpoint(
                    id=folder.name,
                    task_id=task.id,
                    kind=CheckpointKind(kind),
                    epoch=state.get("epoch", epoch),
                    path=self.store.layout.relative(folder),
                    size_bytes=folder_size(folder),
                    created_at=float(state.get("time") or folder.stat().st_mtime),
                    run_index=int(state.get("run_index") or 0),
                    metrics=state.get("eval_metrics") or {},
                )
            )
        return sorted(rows, key=lambda r: (r.created_at, r.id))

    def sync(self, task: Task | TaskBrief) -> list[Checkpoint]:
        """Make ``task``'s rows match its folders (only its ``id`` and ``kind`` are read); its rows."""
        known = self.store.checkpoints.for_task(task.id)
        if task.kind not in RUN_KINDS:
            return known
        found = self.scan(task)
        if [(r.id, r.size_bytes, r.created_at) for r in found] == [
            (r.id, r.size_bytes, r.created_at) for r in known
        ]:
            return known
        self.store.checkpoints.replace_for_task(task.id, found)
        return self.store.checkpoints.for_task(task.id)

    def sync_task_id(self, task_id: str) -> None:
        task = self.store.tasks.get(task_id)
        if task is not None:
            self.sync(task)

    def sync_on_start(self) -> int:
        """Index what jobs wrote while no server watched; returns how many runs were looked at.

        Only runs that may have written since the last server's start are looked at (queued or running
        ones, and those that started or ended since), so a start does not grow with the number of runs.
        A workspace's first start with this release indexes everything once."""
        import time

        since = self.store.settings.get("", "checkpoints_synced_at")
        now = time.time()
        if since is None:
            looked = self.sync_all()
        else:
            rows = self.store.tasks.changed_since(float(since) - 5.0, tuple(RUN_KINDS))
            for row in rows:
                self.sync(row)
            looked = len(rows)
        self.store.settings.set("", "checkpoints_synced_at", now)
        return looked

    def sync_all(self, active_only: bool = False) -> int:
        """Bring every training run's rows up to date, or only those of runs still training; returns how
        many runs were looked at."""
        indexed = set() if active_only else self.store.checkpoints.indexed_task_ids()
        looked = 0
        for task in self.store.tasks.brief(active_only):
            if task.kind in RUN_KINDS and (
                active_only
                or task.id in indexed
                or checkpoint_root(self.store.layout.task_dir(task.id)).is_dir()
            ):
                self.sync(task)
                looked += 1
        return looked

    # ---- finding
    def run(self, run_id: str) -> Task:
        task = self.store.tasks.get(run_id or "")
        if task is None or task.kind not in RUN_KINDS:
            raise NotFound(f"no such training run: {run_id!r}")
        return task

    def locate(self, run_id: str, cid: str) -> Located:
        """``cid`` as listed (``epoch_3``, ``best_model``) or with its path segment (``weights/epoch_3``)."""
        task = self.run(run_id)
        segment, _, bare = cid.rpartition("/")
        self.sync(task)
        row = self.store.checkpoints.get(task.id, bare)
        if row is None or (segment and _SEGMENT[row.kind] != segment):
            raise NotFound(f"training run {task.id} has no checkpoint {cid!r}")
        return Located(task, row, self.store.root / row.path)

    def locate_path(self, path: str) -> Located:
        match = _PATH.match(path or "")
        if not match:
            raise ValidationFailed(
                f"path: {path!r} is not a checkpoint path; expected "
                f"trio://<run>/weights/<id> or trio://<run>/sampler_weights/<id> (or tinker://...)"
            )
        return self.locate(match["run"], f"{match['segment']}/{match['cid']}")

    def folder_for(self, path: str) -> tuple[Path, Task | None]:
        """The folder a sampler or ``weights_info`` names: a ``trio://`` path, a kept model id (PM0001), or a
        checkpoint-shaped folder inside the workspace. Returns it and the run it belongs to, if any."""
        if path.startswith(SCHEMES):
            found = self.locate_path(path)
            return found.folder, found.task
        model = self.store.weights.get(path)
        if model is not None:
            return self.store.root / model.path, self.store.tasks.get(model.task_id or "")
        folder = resolve_inside(self.store.root, path)
        if not has_state(folder):
            raise NotFound(f"path: {path!r} is not a checkpoint (no state.json there)")
        return folder, None

    # ---- listing
    def page(self, owner: str, limit: int, offset: int) -> tuple[list[Checkpoint], int]:
        self.sync_all(active_only=True)
        return self.store.checkpoints.page(owner, limit, offset)

    # ---- deleting
    def needed_by(self, found: Located) -> str | None:
        """Why ``found`` must stay, or None: a queued or running job still reads it."""
        task, row = found.task, found.row
        task_dir = self.store.layout.task_dir(task.id)
        if task.status in ACTIVE and row.kind == CheckpointKind.TRAINING:
            resume = task_dir / "resume.json"
            wanted = json.loads(resume.read_text()).get("epoch") if resume.is_file() else None
            newest = max(
                (
                    r.epoch
                    for r in self.store.checkpoints.for_task(task.id)
                    if r.kind == CheckpointKind.TRAINING
                ),
                default=None,
            )
            if row.epoch in (wanted, newest):
                return (
                    f"training run {task.id} is {task.status} and would resume from {row.id}; "
                    f"stop it first or delete an older checkpoint"
                )
        for child in self.store.tasks.active_children(task.id):
            config = child.config
            epoch = config.get("parent_epoch", config.get("epoch"))
            if (epoch is None and row.kind == CheckpointKind.SAMPLER) or (
                epoch is not None and epoch == row.epoch
            ):
                return f"job {child.id} ({child.kind}) is using {row.id}; wait for it or stop it first"
        return None

    def delete(self, run_id: str, cid: str) -> None:
        found = self.locate(run_id, cid)
        reason = self.needed_by(found)
        if reason:
            raise Conflict(reason)
        doomed = found.folder.with_name(f".{found.folder.name}.deleting")
        shutil.rmtree(doomed, ignore_errors=True)
        found.folder.rename(doomed)  # gone from view at once; the bytes go next
        self.store.checkpoints.delete(found.task.id, found.row.id)
        shutil.rmtree(doomed, ignore_errors=True)

"""What a job on a machine without the workspace's filesystem sends back: tracked points, records, and
output files (checkpoints, exports, logs), into the run folder the server reads — as if written there.

The credential is the run's token (``services/run_tokens.py``; a Ray job trades its one-time claim for it,
see ``redeem_claim``): it lets the job write into that run's own output folders only, within the run's
quota, and only while the run is ``running``. Writes are idempotent by offset:
a client says how many bytes of a writer's file it had sent before, so a retry after a lost reply (or a
server restart in between) neither loses nor repeats a byte.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from .. import _trackfile
from ..domain import Run, Task
from ..errors import Conflict, Forbidden, NotFound, OffsetMismatch, PayloadTooLarge, ValidationFailed
from ..runner.executor import output_folders
from ..store import Store
from ..store.paths import resolve_inside
from .run_tokens import RunTokens

WRITER = re.compile(r"[A-Za-z0-9_.-]{1,100}")
KINDS = {"metrics": _trackfile.SUFFIX, "records": ".jsonl"}
# what the server itself writes into a run folder: never uploaded over
SERVER_WRITES = {"metrics", "records", "output.log", "exit.json", "shim.json", "command.json", "shim.err"}
FROZEN = {"config.yaml", ".config.yaml.json", "command.sh", "resume.json"}  # a task folder's frozen inputs
# where any upload must land, whatever a task's config names: task folders and the exports area
UPLOAD_AREAS = ("tasks", "exports")
DEFAULT_MAX_UPLOAD = 20 * 2**30
CHILD_FOLDERS = {("evaluate",), ("prune",), ("predict",)}  # a task's folders its child jobs write
USED = ".ingest-bytes"  # in the run folder: bytes this run has sent (its quota's count)


class IngestService:
    def __init__(self, store: Store, tokens: RunTokens, max_upload_bytes: int = DEFAULT_MAX_UPLOAD):
        self.store = store
        self.tokens = tokens
        self.max_upload_bytes = max_upload_bytes  # what one run may upload in all (files, points, records)

    def run_of(self, task_id: str, run_index: str | int) -> tuple[Task, Run]:
        """The task and its run, which must be running (a token of an ended run opens nothing)."""
        index = _run_index(run_index)
        task = self.store.tasks.get(task_id)
        run = self.store.tasks.run(task_id, index) if task else None
        if task is None or run is None:
            raise NotFound(f"no run {task_id}/{run_index}")
        if run.status != "running":
            raise Conflict(
                f"run {task.name}/{index} is {run.status}: it takes no more data (its token expired)"
            )
        return task, run

    def authorize(self, task_id: str, run_index: str, token: str) -> tuple[Task, Run]:
        """The task and run a token may write into (only while the run is running)."""
        index = _run_index(run_index)
        self.tokens.check(task_id, index, token)
        return self.run_of(task_id, index)

    def identify(self, token: str) -> tuple[Task, Run]:
        """The running task and run a run token (``TRIO_TOKEN`` of a job) belongs to."""
        key = self.tokens.parse(token)
        return self.run_of(key.task_id, key.run_index)

    def redeem_claim(self, task_id: str, run_index: str, claim: str) -> str:
        """A Ray job's entrypoint trades its one-time claim for its run token (see ``run_tokens``)."""
        task, run = self.run_of(task_id, run_index)
        run_dir = self.store.layout.run_dir(task.id, run.run_index)
        return self.tokens.redeem(task.id, run.run_index, claim, run_dir)

    # ---- the run's upload quota
    def _within_quota(
        self, task_id: str, run_index: int, path: Path, offset: int, body: bytes, write: Callable[[], int]
    ) -> int:
        """Run ``write`` (an append of ``body`` to ``path``) unless the run's bytes so far and ``body`` pass
        the quota (413); counts only the bytes that landed (a repeated append adds nothing, and is never
        refused). The count is kept under an exclusive lock of its file: servers sharing the workspace
        add to it in turn."""
        ledger = self.store.layout.run_dir(task_id, run_index) / USED
        ledger.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(ledger, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                used = int(os.pread(fd, 32, 0) or 0)
            except ValueError:
                used = 0
            before = path.stat().st_size if path.exists() else 0
            over = used + len(body) > self.max_upload_bytes
            repeat = bool(body) and before == offset + len(body) and _ends_with(path, body)
            if over and not repeat:
                raise PayloadTooLarge(
                    f"a run may send {self.max_upload_bytes} bytes in all (c.TrioApp.ingest_quota_gb); this "
                    f"one sent {used}, and this request adds {len(body)}"
                )
            size = write()
            if size > before:
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(used + size - before).encode(), 0)
            return size
        finally:
            os.close(fd)

    # ---- points and records
    def append(self, task_id: str, run_index: int, kind: str, writer: str, offset: int, body: bytes) -> int:
        """Append ``body`` to the writer's file of ``kind`` if the file holds exactly ``offset`` bytes;
        returns the file's size after. A repeat of the last append is a no-op."""
        if kind not in KINDS:
            raise NotFound(f"no ingest of {kind!r}; use metrics or records")
        if not WRITER.fullmatch(writer):
            raise ValidationFailed("writer: 1-100 letters, digits, '.', '_' or '-'")
        if kind == "metrics":
            _, used, skipped = _trackfile.decode(body)
            if used != len(body) or skipped:
                raise ValidationFailed("body: not whole tracked-point blocks (see jupyter_trio._trackfile)")
        else:
            for line in body.splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    entry = None
                if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
                    raise ValidationFailed('body: each line is one record, {"t": <time>, "data": {...}}')
            if body and not body.endswith(b"\n"):
                raise ValidationFailed("body: records end with a newline")
        folder = self.store.layout.run_dir(task_id, run_index) / kind
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{writer}{KINDS[kind]}"
        return self._within_quota(
            task_id, run_index, path, offset, body, lambda: _append_at(path, offset, body)
        )

    # ---- files
    def output_roots(self, task: Task, run_index: int) -> list[Path]:
        """``output_folders`` of the task, as real paths: its own task folder, and of the others only those
        that are export folders (under ``exports/``) or a child job's folder in a task (``evaluate/``,
        ``prune/``, ``predict/``) — whatever a task stored before these rules named, a run never writes a
        task's checkpoints or anything else of the workspace."""
        real_root = self.store.layout.real_root
        exports, tasks = real_root / "exports", real_root / "tasks"
        own, *others = [
            Path(os.path.realpath(f)) for f in output_folders(self.store.layout.task_dir(task.id), task)
        ]
        roots = [own]
        for folder in others:
            export = folder.is_relative_to(exports) and folder != exports
            child = folder.is_relative_to(tasks) and folder.relative_to(tasks).parts[1:2] in CHILD_FOLDERS
            if export or child:
                roots.append(folder)
        return roots

    def file_target(self, task: Task, run_index: int, path: str) -> Path:
        """Where an uploaded file goes: ``path`` is relative to the workspace and must name a file inside
        one of the task's output folders (``runner.executor.output_folders``: its own task folder, and the
        one folder of a parent task or the export folder its job writes). Never a run folder's files other
        than this run's own uploads (split logs, its own outputs), never what the server writes (metrics,
        records, output.log, exit.json), never a task's frozen config, never a hidden file, and never
        anything outside ``tasks/`` and ``exports/`` (the database, the workspace's keys), whatever a
        task's config says."""
        target = resolve_inside(self.store.root, path)  # a real path: symlinks and ".." resolved
        real_root = Path(os.path.realpath(self.store.root))
        tasks = real_root / "tasks"
        own_run = Path(os.path.realpath(self.store.layout.run_dir(task.id, run_index)))
        refused = Forbidden(f"{path!r} is not a file this run may write")
        inside = target.relative_to(real_root).parts if target != real_root else ()
        if target.is_dir() or not inside or any(part.startswith(".") for part in inside):
            raise refused
        if inside[0] not in UPLOAD_AREAS or len(inside) < 3:
            raise refused
        if target.is_relative_to(own_run):
            if target.relative_to(own_run).parts[0] in SERVER_WRITES:
                raise refused
            return target
        if target.is_relative_to(tasks) and "runs" in target.relative_to(tasks).parts[1:2]:
            raise refused  # another run's folder (of this task or of the parent)
        for root in self.output_roots(task, run_index):
            if target != root and target.is_relative_to(root):
                if target.parent == root and target.name in FROZEN:
                    raise refused
                return target
        raise Forbidden(f"{path!r} is not in one of this task's output folders")

    def write_file(self, task: Task, run_index: int, path: str, offset: int, body: bytes, final: bool) -> int:
        """Write a chunk of an uploaded file at ``offset`` into its part file; ``final`` puts it in place
        (an atomic rename, so a reader never sees half a checkpoint). Returns the part's size. A chunk at
        offset 0 starts the file afresh (a new upload of it, or the first chunk sent again)."""
        target = self.file_target(task, run_index, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.part")
        if offset == 0:
            part.unlink(missing_ok=True)
        size = self._within_quota(
            task.id, run_index, part, offset, body, lambda: _append_at(part, offset, body)
        )
        if final:
            os.replace(part, target)
        return size


def _run_index(run_index: str | int) -> int:
    """A run index from a route's path; a non-number names no run (404)."""
    try:
        return int(run_index)
    except ValueError:
        raise NotFound(f"no run {run_index!r}") from None


def _ends_with(path: Path, body: bytes) -> bool:
    """Does ``path`` end with ``body`` (an append sent again after its reply was lost)?"""
    try:
        with open(path, "rb") as fh:
            fh.seek(-len(body), os.SEEK_END)
            return fh.read() == body
    except OSError:
        return False


def _append_at(path: Path, offset: int, body: bytes) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        size = os.fstat(fd).st_size
        if body and size == offset + len(body) and os.pread(fd, len(body), offset) == body:
            return size  # this very append arrived before (its reply was lost)
        if size != offset:
            raise OffsetMismatch(offset, size)
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
        return size + len(body)
    finally:
        os.close(fd)

"""``jupyter trio check``: the store against the run folders, and what can be repaired.

Checked: that ``trio.db`` opens and passes SQLite's integrity check; the task-name search index; that every
task has its folder; that every run the store still thinks is running has either a live job or an end
on disk that the store never read; that the checkpoint index matches the checkpoint folders. With
``repair``: a missing task folder is made again with its frozen config (the store holds it), ended runs are
recorded (the runner's own code, and only when no server drives the workspace), the search index is
rebuilt, the checkpoint index re-read. A damaged ``trio.db`` is never written: the report says how to
start afresh without losing the folders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..domain import ScheduledRun
from ..store import Store, WorkspaceDamaged
from ..store.task_files import materialize
from ..vocabulary import RUN_KINDS


@dataclass
class Finding:
    what: str
    repaired: bool = False
    repair: str = ""  # what was (or would be) done


@dataclass
class CheckReport:
    workspace: Path
    findings: list[Finding] = field(default_factory=list)
    damaged: str = ""

    @property
    def ok(self) -> bool:
        return not self.damaged and all(f.repaired for f in self.findings)

    def lines(self) -> list[str]:
        if self.damaged:
            return [f"DAMAGED  {self.damaged}"]
        out = [
            f"{'REPAIRED' if f.repaired else 'PROBLEM '}  {f.what}" + (f" -> {f.repair}" if f.repair else "")
            for f in self.findings
        ]
        return out or [f"ok  {self.workspace}: the store matches its folders"]


def check_workspace(workspace: Path, repair: bool = False) -> CheckReport:
    report = CheckReport(Path(workspace))
    try:
        store = Store(workspace)
    except WorkspaceDamaged as exc:
        report.damaged = exc.message
        return report
    try:
        _check(store, report, repair)
    finally:
        store.close()
    return report


def _check(store: Store, report: CheckReport, repair: bool) -> None:
    add = report.findings.append
    for problem in store.tasks.integrity_problems():
        add(Finding(f"SQLite integrity check: {problem}"))
    if not store.tasks.name_index_ok():
        if repair:
            store.tasks.rebuild_name_index()
        add(Finding("the task-name search index does not match the tasks", repair, "rebuilt"))

    for task in store.tasks.all_for_check():
        folder = store.layout.task_dir(task.id)
        if task.kind != "notebook" and not folder.is_dir():
            if repair:
                materialize(store.layout, task.id, task.kind, task.config, task.command)
            add(
                Finding(
                    f"task {task.name} ({task.id}): its folder {folder} is gone",
                    repair,
                    "made again with its frozen config (its runs' logs and outputs are lost)",
                )
            )

    from ..runner.service import Runner

    runner = Runner(store, gpus=[], max_cpu_jobs=1, root_dir=store.root)
    ended = [r for r in store.tasks.running() if r.kind != "notebook" and _has_exit(store, r)]
    if ended:
        led = repair and runner.try_lead()
        if led:
            runner.record_ended()
            runner.release()
        for run in ended:
            add(
                Finding(
                    f"run {run.task_name}/{run.run.run_index} ended (exit.json is there) but the store "
                    "still has it running",
                    led,
                    "recorded"
                    if led
                    else "a running server records it"
                    if repair
                    else "run `jupyter trio check --repair` with no server on this workspace",
                )
            )

    from .checkpoints import CheckpointService

    checkpoints = CheckpointService(store)
    for task in store.tasks.brief():
        if task.kind not in RUN_KINDS:
            continue
        known = [r.id for r in store.checkpoints.for_task(task.id)]
        found = [r.id for r in checkpoints.scan(task)]
        if sorted(known) != sorted(found):
            if repair:
                checkpoints.sync(task)
            add(
                Finding(
                    f"task {task.id}: checkpoints indexed {sorted(known)}, on disk {sorted(found)}",
                    repair,
                    "index re-read from the folders",
                )
            )


def _has_exit(store: Store, run: ScheduledRun) -> bool:
    return (store.layout.run_dir(*run.key) / "exit.json").is_file()

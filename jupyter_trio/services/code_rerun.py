""" "Rerun with this code": a run's code as it was, restored into a fresh folder, and a new task that runs it.

A script run's provenance names the repository its script was in, the commit and the uncommitted diff
(``services/provenance.py``). While that commit is still in the repository, ``git clone`` of it into
``reruns/<task>-run<n>/`` under the server root, checked out at the commit, with the diff applied
(``git apply``), is the code of that run; a new script task with the run's config runs the same script there.
Untracked files were named, not kept: the reply lists them. A diff that was capped when captured cannot be
restored whole, so it is refused.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..domain import NewTask, Task
from ..errors import Conflict, ValidationFailed
from ..store import Store
from . import provenance
from .tasks import TaskService

GIT_TIMEOUT_S = 120
RERUNS = "reruns"  # under the server root


@dataclass(frozen=True, slots=True)
class RestoredCode:
    task: Task  # the new task that runs the restored script
    folder: str  # the restored repository, relative to the server root
    commit: str
    applied_diff: bool
    untracked_missing: tuple[str, ...]  # files the run had that git did not keep


def _git(cwd: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(cwd), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
        env={**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"},
    )
    if done.returncode != 0:
        raise Conflict(f"git {args[0]} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return done.stdout


class CodeRerun:
    def __init__(self, store: Store, tasks: TaskService, root_dir: Path):
        self.store = store
        self.tasks = tasks
        self.root_dir = Path(root_dir)

    def restore(self, owner: str, name: str, run: int, *, queue: bool = True) -> RestoredCode:
        task, found = self.tasks.run_of(name, run)
        if task.kind != "script":
            raise ValidationFailed(f"{task.name!r} is a {task.kind} task: only a script's code is restored")
        captured = provenance.read(self.store.layout.run_dir(task.id, found.run_index))
        git = captured.git if captured else None
        if git is None:
            raise Conflict(
                f"run {found.run_index} of {task.name!r} has no git state (its script was in no repository)"
            )
        if git.diff_truncated:
            raise Conflict(
                f"run {found.run_index}'s uncommitted diff was larger than kept: it cannot be restored whole"
            )
        repo = Path(git.root)
        try:
            _git(repo, "cat-file", "-e", f"{git.commit}^{{commit}}")
        except Conflict:
            raise Conflict(f"commit {git.commit[:12]} is no longer in {repo}") from None
        script = (self.root_dir / task.script_path).resolve()
        if not script.is_relative_to(repo.resolve()):
            raise Conflict(f"the script {task.script_path!r} is no longer inside {repo}")
        target = self._fresh_folder(f"{task.name}-run{found.run_index}")
        _git(target.parent, "clone", "--quiet", "--no-checkout", str(repo), target.name)
        _git(target, "checkout", "--quiet", "--detach", git.commit)
        if git.diff:
            _git(target, "apply", "--whitespace=nowarn", "-", stdin=git.diff)
        relative = target.relative_to(self.root_dir.resolve()).as_posix()
        new_script = f"{relative}/{script.relative_to(repo.resolve()).as_posix()}"
        with self.store.db.transaction() as conn:
            taken = set(self.store.tasks.names_with_prefix(conn, f"{task.name}-code"))
            new_name = next(
                f"{task.name}-code{i}"
                for i in range(1, len(taken) + 2)
                if f"{task.name}-code{i}" not in taken
            )
            [task_id] = self.store.tasks.insert_many(
                conn,
                [
                    NewTask(
                        name=new_name,
                        kind="script",
                        owner=owner,
                        script_path=new_script,
                        config=dict(task.config),
                        env=dict(task.env),
                        priority=task.priority,
                        gpu_count=task.gpu_count,
                    )
                ],
            )
            if queue:
                self.store.tasks.add_runs(conn, [task_id])
        if queue:
            self.tasks.runner.wake()
        return RestoredCode(
            task=self.tasks.get(task_id),
            folder=relative,
            commit=git.commit,
            applied_diff=bool(git.diff),
            untracked_missing=git.untracked,
        )

    def _fresh_folder(self, base: str) -> Path:
        parent = (self.root_dir / RERUNS).resolve()
        parent.mkdir(parents=True, exist_ok=True)
        for i in range(1, 1000):
            candidate = parent / (base if i == 1 else f"{base}-{i}")
            if not candidate.exists():
                return candidate
        raise Conflict(f"{RERUNS}/ holds too many restorations of {base}")

"""Tasks and their runs (pyruns' run slots) in the database. No files, no processes: see runner/."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..acting import acting_user
from ..domain import NewTask, NotifyTarget, Run, ScheduledRun, Task, TaskBrief, TaskKind, TaskQuery
from ..vocabulary import ACTIVE
from .db import Database
from .ids import next_ids
from .rows import entity

log = logging.getLogger(__name__)

BROAD_MATCH = 2000  # a name search matching more tasks than this reads its page by the sort's index
SORTABLE = {"created_at", "updated_at", "name", "status", "priority", "kind", "last_run"}
_JSON_COLUMNS = ("config", "params", "env")


# A task with the facts of its latest run (exit code, times, GPUs) in one query.
_WITH_LATEST_RUN = (
    "SELECT t.*, r.exit_code AS exit_code, r.started_at AS started_at, r.ended_at AS ended_at, "
    "r.gpus AS run_gpus, r.pid AS pid, r.message AS message FROM tasks t "
    "LEFT JOIN runs r ON r.task_id = t.id AND r.run_index = t.last_run"
)


def task_of(row: sqlite3.Row) -> Task:
    """A row of ``_WITH_LATEST_RUN`` → its task (columns ``gpus`` → ``gpu_count``, ``last_run`` →
    ``run_index``; the latest run's GPUs → ``gpu_ids``)."""
    return entity(
        Task,
        row,
        json_columns=_JSON_COLUMNS,
        gpu_count=row["gpus"],
        run_index=row["last_run"],
        pinned=bool(row["pinned"]),
        gpu_ids=tuple(json.loads(row["run_gpus"] or "[]")),
        notify=targets_of(row["notify"]),
        retry_on=tuple(json.loads(row["retry_on"])),
    )


def targets_of(text: str) -> tuple[NotifyTarget, ...]:
    """The ``notify`` column (JSON ``[{"url", "shown"}]``) → its targets."""
    return tuple(NotifyTarget(t["url"], t["shown"]) for t in json.loads(text or "[]"))


def targets_json(targets: Iterable[NotifyTarget]) -> str:
    return json.dumps([{"url": t.url, "shown": t.shown} for t in targets])


def run_of(row: sqlite3.Row) -> Run:
    """A row of ``runs`` (column ``gpus`` → ``gpu_ids``)."""
    return entity(Run, row, gpu_ids=tuple(json.loads(row["gpus"])))


def scheduled_of(row: sqlite3.Row) -> ScheduledRun:
    """A row of ``_SCHEDULED``: a run with its task's facts."""
    return entity(ScheduledRun, row, run=run_of(row))


def notify(hooks: list[Callable[[str], None]], ids: Iterable[str]) -> None:
    """Tell every hook about every changed id; a failing hook is logged, never the writer's problem."""
    for item in ids:
        for hook in hooks:
            try:
                hook(item)
            except Exception:
                log.exception("change hook failed for %s", item)


class TaskRepository:
    def __init__(self, db: Database):
        self.db = db
        # called with a task's id after a write to it commits (the events channel listens here)
        self.on_change: list[Callable[[str], None]] = []

    def _changed(self, *task_ids: str) -> None:
        if self.on_change:
            self.db.after_commit(lambda: notify(self.on_change, task_ids))

    # ---- tasks
    def insert_many(self, conn: sqlite3.Connection, tasks: list[NewTask]) -> list[str]:
        """Insert ``tasks`` in the caller's transaction; returns their new ids, in order."""
        ids = next_ids(conn, "task", len(tasks))
        now = time.time()
        conn.executemany(
            "INSERT INTO tasks(id, name, kind, owner, status, priority, gpus, project_id, parent_id, "
            "session_id, path, script_path, command, config, params, env, workspace, created_at, updated_at, "
            "notify, max_retries, retry_on, kernel, gpu_memory) "
            "VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    task_id,
                    t.name,
                    t.kind,
                    t.owner,
                    t.priority,
                    t.gpu_count,
                    t.project_id,
                    t.parent_id,
                    t.session_id,
                    f"tasks/{task_id}",
                    t.script_path,
                    t.command,
                    json.dumps(t.config),
                    json.dumps(t.params),
                    json.dumps(t.env),
                    t.workspace,
                    now,
                    now,
                    targets_json(t.notify),
                    t.max_retries,
                    json.dumps(list(t.retry_on)),
                    t.kernel,
                    t.gpu_memory,
                )
                for task_id, t in zip(ids, tasks)
            ],
        )
        self._changed(*ids)
        return ids

    def names_with_prefix(self, conn: sqlite3.Connection, prefix: str) -> list[str]:
        # GLOB is case-sensitive and uses the name index; escape its wildcards in the prefix.
        escaped = "".join(f"[{c}]" if c in "*?[]" else c for c in prefix)
        return [r[0] for r in conn.execute("SELECT name FROM tasks WHERE name GLOB ?", (escaped + "*",))]

    def existing_names(self, conn: sqlite3.Connection, names: list[str]) -> list[str]:
        found: list[str] = []
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found += [r[0] for r in conn.execute(f"SELECT name FROM tasks WHERE name IN ({marks})", chunk)]
        return found

    def name_after_id(self, conn: sqlite3.Connection, task_id: str, notes: str = "") -> None:
        """Inside ``conn``'s transaction: the task is named by its id (PaddleX's T0001 tasks), with notes."""
        conn.execute("UPDATE tasks SET name = ?, notes = ? WHERE id = ?", (task_id, notes, task_id))
        self._changed(task_id)

    def brief(self, active_only: bool = False) -> list[TaskBrief]:
        """Id and kind of every task (or of the queued and running ones), without their JSON columns."""
        where = f"WHERE status IN {ACTIVE!r}" if active_only else ""  # the status index, then kind
        return [
            TaskBrief(r["id"], TaskKind(r["kind"]))
            for r in self.db.query(f"SELECT id, kind FROM tasks {where}")
        ]

    def changed_since(self, since: float, kinds: tuple[str, ...]) -> list[TaskBrief]:
        """Id and kind of the tasks of ``kinds`` that are queued or running, or have a run that started or
        ended at ``since`` or later (what may have written files since then)."""
        marks = ", ".join("?" for _ in kinds)
        rows = self.db.query(
            f"SELECT id, kind FROM tasks WHERE kind IN ({marks}) AND (status IN {ACTIVE!r} OR id IN "
            "(SELECT task_id FROM runs WHERE ended_at >= ? OR started_at >= ?))",
            (*kinds, since, since),
        )
        return [TaskBrief(r["id"], TaskKind(r["kind"])) for r in rows]

    # ---- for `jupyter trio check`
    def integrity_problems(self) -> list[str]:
        rows = self.db.query("PRAGMA integrity_check(20)")
        return [r[0] for r in rows if r[0] != "ok"]

    def name_index_ok(self) -> bool:
        try:
            with self.db.transaction() as conn:  # compares the index with the tasks table (rank 1)
                conn.execute("INSERT INTO tasks_fts(tasks_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError:
            return False
        return True

    def rebuild_name_index(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO tasks_fts(tasks_fts) VALUES ('rebuild')")

    def all_for_check(self) -> list[TaskBrief]:
        rows = self.db.query("SELECT id, name, kind, config, command FROM tasks")
        return [
            TaskBrief(r["id"], TaskKind(r["kind"]), r["name"], r["command"], json.loads(r["config"]))
            for r in rows
        ]

    def active_children(self, parent_id: str) -> list[TaskBrief]:
        """The queued or running child jobs of a task (id, kind, config)."""
        rows = self.db.query(
            f"SELECT id, kind, config FROM tasks WHERE parent_id = ? AND status IN {ACTIVE!r}", (parent_id,)
        )
        return [TaskBrief(r["id"], TaskKind(r["kind"]), config=json.loads(r["config"])) for r in rows]

    def get(self, name_or_id: str) -> Task | None:
        row = self.db.query_one(
            f"{_WITH_LATEST_RUN} WHERE t.name = ? OR t.id = ? LIMIT 1", (name_or_id, name_or_id)
        )
        return task_of(row) if row else None

    def list(self, q: TaskQuery) -> tuple[list[Task], int]:
        where, args = [], []
        for column, value in (
            ("status", q.status),
            ("kind", q.kind),
            ("workspace", q.workspace),
            ("project_id", q.project_id),
            ("owner", q.owner),
        ):
            if value is not None:
                where.append(f"t.{column} = ?")
                args.append(value)
        if q.kinds is not None:
            where.append(f"t.kind IN ({', '.join('?' for _ in q.kinds)})")
            args.extend(q.kinds)
        if q.pinned is not None:
            where.append("t.pinned = ?")
            args.append(int(q.pinned))
        # Name search: the trigram index counts the names holding the text (any case) at once. Few of them:
        # the page is read through the index too. Many: the page is found faster by walking the sort's
        # index and testing each name, which stops after one page.
        count_where, count_args, total = list(where), list(args), None
        if q.name and len(q.name) >= 3:
            phrase = '"' + q.name.replace('"', '""') + '"'
            in_index = "t.rowid IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ?)"
            matching = int(
                self.db.scalar("SELECT count(*) FROM tasks_fts WHERE tasks_fts MATCH ?", (phrase,))
            )
            total = matching if not where else None
            count_where.append(in_index)
            count_args.append(phrase)
            if matching > BROAD_MATCH:
                where.append("instr(lower(t.name), ?) > 0")
                args.append(q.name.lower())
            else:
                where.append(in_index)
                args.append(phrase)
        elif q.name:  # one or two characters: too short for trigrams
            for clauses, values in ((where, args), (count_where, count_args)):
                clauses.append("instr(lower(t.name), ?) > 0")
                values.append(q.name.lower())
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        sort = q.sort if q.sort in SORTABLE else "created_at"
        direction = "DESC" if q.descending else "ASC"
        order = f"ORDER BY t.{sort} {direction}, t.rowid {direction}"
        if total is None:
            counted = f"WHERE {' AND '.join(count_where)}" if count_where else ""
            total = self.db.scalar(f"SELECT count(*) FROM tasks t {counted}", tuple(count_args))
        # Page through the narrow index first, then join and fetch only the rows of this page: a deep
        # offset then skips index entries instead of whole joined rows.
        rows = self.db.query(
            f"{_WITH_LATEST_RUN} WHERE t.rowid IN (SELECT t.rowid FROM tasks t {clause} {order} LIMIT "
            "? OFFSET ?) "
            f"{order}",
            tuple(args) + (q.limit, q.offset),
        )
        return [task_of(r) for r in rows], int(total)

    def update(self, task_id: str, **fields: Any) -> None:
        """Update a task's columns (``gpu_count`` is the ``gpus`` column; ``notify`` takes targets)."""
        if "gpu_count" in fields:
            fields["gpus"] = fields.pop("gpu_count")
        if "pinned" in fields:
            fields["pinned"] = int(fields["pinned"])
        if "notify" in fields:
            fields["notify"] = targets_json(fields["notify"])
        if "retry_on" in fields:
            fields["retry_on"] = list(fields["retry_on"])
        self.db.update_row(
            "tasks", task_id, {**fields, "updated_at": time.time()}, (*_JSON_COLUMNS, "retry_on")
        )
        self._changed(task_id)

    def delete(self, task_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
            self._changed(task_id)

    def children(self, task_id: str, kinds: tuple[str, ...]) -> list[str]:
        """Ids of the tasks of ``kinds`` whose parent is ``task_id``."""
        marks = ", ".join("?" for _ in kinds)
        return [
            r[0]
            for r in self.db.query(
                f"SELECT id FROM tasks WHERE parent_id = ? AND kind IN ({marks}) ORDER BY id",
                (task_id, *kinds),
            )
        ]

    # ---- runs
    def add_run(
        self,
        task_id: str,
        *,
        priority: int | None = None,
        gpus: int | None = None,
        retry_of: int | None = None,
        not_before: float | None = None,
        message: str = "",
    ) -> int:
        """Queue a new run slot of ``task_id``; returns its index (1, 2, ...). A retry names the run it
        retries and may wait until ``not_before``."""
        now = time.time()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT last_run, status FROM tasks WHERE id = ?", (task_id,)).fetchone()
            index = row["last_run"] + 1
            extra, args = "", []
            if priority is not None:
                extra += ", priority = ?"
                args.append(priority)
            if gpus is not None:
                extra += ", gpus = ?"
                args.append(gpus)
            conn.execute(
                f"UPDATE tasks SET last_run = ?, status = 'queued', updated_at = ?{extra} WHERE id = ?",
                (index, now, *args, task_id),
            )
            conn.execute(
                "INSERT INTO runs(task_id, run_index, status, queued_at, created_by, retry_of, not_before, "
                "message) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
                (task_id, index, now, acting_user.get(), retry_of, not_before, message),
            )
            self._changed(task_id)
        return index

    def add_runs(self, conn: sqlite3.Connection, task_ids: list[str]) -> None:
        """Queue the first run of freshly created tasks, in the caller's transaction."""
        now = time.time()
        conn.executemany(
            "UPDATE tasks SET last_run = 1, status = 'queued' WHERE id = ?", [(t,) for t in task_ids]
        )
        by = acting_user.get()
        conn.executemany(
            "INSERT INTO runs(task_id, run_index, status, queued_at, created_by) "
            "VALUES (?, 1, 'queued', ?, ?)",
            [(t, now, by) for t in task_ids],
        )
        self._changed(*task_ids)

    def runs(self, task_id: str) -> list[Run]:
        rows = self.db.query("SELECT * FROM runs WHERE task_id = ? ORDER BY run_index", (task_id,))
        return [run_of(r) for r in rows]

    def run(self, task_id: str, run_index: int) -> Run | None:
        row = self.db.query_one(
            "SELECT * FROM runs WHERE task_id = ? AND run_index = ?", (task_id, run_index)
        )
        return run_of(row) if row else None

    # the facts of a run's task the runner places and reports it by
    _SCHEDULED = (
        "SELECT r.*, t.priority AS priority, t.gpus AS gpu_count, t.gpu_memory AS gpu_memory, "
        "t.name AS task_name, t.kind AS kind "
        "FROM runs r JOIN tasks t ON t.id = r.task_id"
    )

    def queued(self) -> list[ScheduledRun]:
        """Queued runs, highest priority first, then first come first served."""
        rows = self.db.query(
            f"{self._SCHEDULED} WHERE r.status = 'queued' ORDER BY t.priority DESC, r.queued_at, r.rowid"
        )
        return [scheduled_of(r) for r in rows]

    def running(self) -> list[ScheduledRun]:
        rows = self.db.query(f"{self._SCHEDULED} WHERE r.status = 'running'")
        return [scheduled_of(r) for r in rows]

    def set_run(self, task_id: str, run_index: int, **fields: Any) -> None:
        """Update a run (``Run``'s field names); a status change is mirrored on the task when it is the
        task's latest run."""
        if "gpu_ids" in fields:
            fields["gpus"] = json.dumps(list(fields.pop("gpu_ids")))
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE runs SET {sets} WHERE task_id = ? AND run_index = ?",
                (*fields.values(), task_id, run_index),
            )
            if "status" in fields:
                conn.execute(
                    "UPDATE tasks SET status = ?, updated_at = ? WHERE id = ? AND last_run = ?",
                    (fields["status"], time.time(), task_id, run_index),
                )
            self._changed(task_id)

"""Sweeps and their trials in the database. The study itself (trials' params, values, intermediate values)
is Optuna's, in its own storage (``services/sweeps.py``); these rows say which task runs which trial."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from ..domain import Objective, Sweep, SweepSpec, SweepTrial, TrialState
from .db import Database
from .ids import next_id
from .rows import entity
from .tasks import notify


def spec_json(spec: SweepSpec) -> str:
    return json.dumps(dataclasses.asdict(spec))


def spec_of(text: str) -> SweepSpec:
    data = json.loads(text)
    return SweepSpec(**{**data, "objective": Objective(**data["objective"])})


def sweep_of(row: sqlite3.Row) -> Sweep:
    return entity(Sweep, row, spec=spec_of(row["spec"]))


def trial_of(row: sqlite3.Row) -> SweepTrial:
    return entity(SweepTrial, row, json_columns=("params",), prune_requested=bool(row["prune_requested"]))


class SweepRepository:
    def __init__(self, db: Database):
        self.db = db
        # called with a sweep's id after a write to it or its trials commits (the events channel listens)
        self.on_change: list[Callable[[str], None]] = []

    def _changed(self, sweep_id: str) -> None:
        if self.on_change:
            self.db.after_commit(lambda: notify(self.on_change, (sweep_id,)))

    def create(self, name: str, owner: str, spec: SweepSpec, study_name: str) -> Sweep:
        now = time.time()
        with self.db.transaction() as conn:
            sid = next_id(conn, "sweep")
            conn.execute(
                "INSERT INTO sweeps(id, name, owner, state, spec, study_name, created_at, updated_at) "
                "VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                (sid, name, owner, spec_json(spec), study_name, now, now),
            )
            self._changed(sid)
        return self.get(sid)  # type: ignore[return-value]

    def get(self, name_or_id: str) -> Sweep | None:
        row = self.db.query_one(
            "SELECT * FROM sweeps WHERE name = ? OR id = ? LIMIT 1", (name_or_id, name_or_id)
        )
        return sweep_of(row) if row else None

    def list(self, owner: str | None = None, states: tuple[str, ...] | None = None) -> list[Sweep]:
        where, args = [], []
        if owner is not None:
            where.append("owner = ?")
            args.append(owner)
        if states:
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            args.extend(states)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return [
            sweep_of(r)
            for r in self.db.query(f"SELECT * FROM sweeps {clause} ORDER BY created_at, id", tuple(args))
        ]

    def update(self, sweep_id: str, **fields: Any) -> None:
        if "spec" in fields:
            fields["spec"] = spec_json(fields["spec"])
        self.db.update_row("sweeps", sweep_id, {**fields, "updated_at": time.time()})
        self._changed(sweep_id)

    def delete(self, sweep_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sweeps WHERE id = ?", (sweep_id,))
            self._changed(sweep_id)

    # ---- trials
    def add_trial(
        self, conn: sqlite3.Connection, sweep_id: str, number: int, task_id: str, params: dict
    ) -> None:
        """In the caller's transaction (the one that makes the trial's task)."""
        conn.execute(
            "INSERT INTO sweep_trials(sweep_id, number, task_id, state, params) "
            "VALUES (?, ?, ?, 'running', ?)",
            (sweep_id, number, task_id, json.dumps(params)),
        )
        self._changed(sweep_id)

    def trials(
        self, sweep_id: str, states: tuple[str, ...] | None = None, limit: int | None = None
    ) -> list[SweepTrial]:
        """The sweep's trials by number; ``states``: only those; ``limit``: the first ones."""
        sql, args = "SELECT * FROM sweep_trials WHERE sweep_id = ?", [sweep_id]
        if states:
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            args += [str(s) for s in states]
        sql += " ORDER BY number"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [trial_of(r) for r in self.db.query(sql, tuple(args))]

    def trial_counts(self, sweep_id: str) -> dict[str, int]:
        """How many trials the sweep has in each state (a tick's arithmetic, without reading them all)."""
        rows = self.db.query(
            "SELECT state, COUNT(*) AS n FROM sweep_trials WHERE sweep_id = ? GROUP BY state", (sweep_id,)
        )
        return {r["state"]: r["n"] for r in rows}

    def best_trial(self, sweep_id: str, objective: Objective) -> SweepTrial | None:
        """``objective.best`` of the sweep's trials, found by the index instead of reading every trial (the
        events channel asks at every change of a sweep: a trial asked for, told, pruned)."""
        order = "ASC" if objective.direction == "minimize" else "DESC"
        row = self.db.query_one(
            "SELECT * FROM sweep_trials WHERE sweep_id = ? AND state = ? AND value IS NOT NULL "
            f"ORDER BY value {order}, number LIMIT 1",
            (sweep_id, str(TrialState.COMPLETE)),
        )
        return trial_of(row) if row else None

    def held_trials(self, sweep_id: str) -> list[SweepTrial]:
        """The sweep's trials asked ahead whose task waits, not yet queued ("pending"), for a free slot."""
        rows = self.db.query(
            "SELECT s.* FROM sweep_trials s JOIN tasks t ON t.id = s.task_id "
            "WHERE s.sweep_id = ? AND s.state = ? AND t.status = 'pending' ORDER BY s.number",
            (sweep_id, str(TrialState.RUNNING)),
        )
        return [trial_of(r) for r in rows]

    def delete_trial(self, sweep_id: str, number: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sweep_trials WHERE sweep_id = ? AND number = ?", (sweep_id, number))
            self._changed(sweep_id)

    def trial_of_task(self, task_id: str) -> SweepTrial | None:
        row = self.db.query_one("SELECT * FROM sweep_trials WHERE task_id = ?", (task_id,))
        return trial_of(row) if row else None

    def set_trial(self, sweep_id: str, number: int, **fields: Any) -> None:
        if "state" in fields:
            fields["state"] = TrialState(fields["state"])
        if "prune_requested" in fields:
            fields["prune_requested"] = int(fields["prune_requested"])
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE sweep_trials SET {sets} WHERE sweep_id = ? AND number = ?",
                (*fields.values(), sweep_id, number),
            )
            conn.execute("UPDATE sweeps SET updated_at = ? WHERE id = ?", (time.time(), sweep_id))
            self._changed(sweep_id)

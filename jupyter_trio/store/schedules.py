"""Cron schedules in the database: which task a schedule fires, when next, and what its fires did.

The times are computed by ``services/schedules.py`` (croniter); this module only keeps them. A fire is taken
with ``claim``: one conditional UPDATE moves ``next_fire`` on only if it still holds the time the caller
saw, so two servers on one workspace (or a tick racing a restart's catch-up) never act on a fire twice."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from ..domain import Schedule
from .db import Database
from .ids import next_id
from .rows import entity
from .tasks import notify


def schedule_of(row: sqlite3.Row) -> Schedule:
    return entity(Schedule, row, paused=bool(row["paused"]))


class ScheduleRepository:
    def __init__(self, db: Database):
        self.db = db
        # called with a schedule's id after a write to it commits (the events channel listens here)
        self.on_change: list[Callable[[str], None]] = []

    def _changed(self, schedule_id: str) -> None:
        if self.on_change:
            self.db.after_commit(lambda: notify(self.on_change, (schedule_id,)))

    def create(
        self,
        *,
        owner: str,
        task_id: str,
        cron: str,
        timezone: str,
        overlap: str,
        catchup: str,
        mode: str,
        paused: bool,
        next_fire: float | None,
    ) -> Schedule:
        now = time.time()
        with self.db.transaction() as conn:
            sid = next_id(conn, "schedule")
            conn.execute(
                "INSERT INTO schedules(id, owner, task_id, cron, timezone, overlap, catchup, mode, paused, "
                "next_fire, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sid,
                    owner,
                    task_id,
                    cron,
                    timezone,
                    overlap,
                    catchup,
                    mode,
                    int(paused),
                    next_fire,
                    now,
                    now,
                ),
            )
            self._changed(sid)
        return self.get(sid)  # type: ignore[return-value]

    def get(self, schedule_id: str) -> Schedule | None:
        row = self.db.query_one("SELECT * FROM schedules WHERE id = ?", (schedule_id,))
        return schedule_of(row) if row else None

    def list(self, owner: str | None = None, task_id: str | None = None) -> list[Schedule]:
        where, args = [], []
        if owner is not None:
            where.append("owner = ?")
            args.append(owner)
        if task_id is not None:
            where.append("task_id = ?")
            args.append(task_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.query(f"SELECT * FROM schedules {clause} ORDER BY created_at, id", tuple(args))
        return [schedule_of(r) for r in rows]

    def due(self, now: float) -> list[Schedule]:
        """Unpaused schedules whose next fire is at or before ``now``, earliest first."""
        rows = self.db.query(
            "SELECT * FROM schedules WHERE paused = 0 AND next_fire IS NOT NULL AND next_fire <= ? "
            "ORDER BY next_fire",
            (now,),
        )
        return [schedule_of(r) for r in rows]

    def waiting(self) -> list[Schedule]:
        """Unpaused schedules with fires waiting for their task's run to end (overlap ``queue``)."""
        rows = self.db.query("SELECT * FROM schedules WHERE pending > 0 AND paused = 0 ORDER BY id")
        return [schedule_of(r) for r in rows]

    def next_due(self) -> float | None:
        """The earliest next fire of any unpaused schedule (the tick sleeps until then)."""
        return self.db.scalar("SELECT MIN(next_fire) FROM schedules WHERE paused = 0")

    def claim(self, schedule_id: str, seen: float, next_fire: float | None) -> bool:
        """Move the schedule's next fire from ``seen`` to ``next_fire``; False when another caller did."""
        with self.db.transaction() as conn:
            moved = conn.execute(
                "UPDATE schedules SET next_fire = ?, updated_at = ? WHERE id = ? AND next_fire = ? "
                "AND paused = 0",
                (next_fire, time.time(), schedule_id, seen),
            ).rowcount
            if moved:
                self._changed(schedule_id)
        return bool(moved)

    def record_fire(
        self, schedule_id: str, fire_time: float, *, started: bool, task_id: str = "", message: str = ""
    ) -> None:
        """What a claimed fire did: started a run (of ``task_id``) or skipped it, and why."""
        counter = "fires" if started else "skipped"
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE schedules SET {counter} = {counter} + 1, last_fire = ?, message = ?, "
                "last_task_id = CASE WHEN ? = '' THEN last_task_id ELSE ? END, updated_at = ? WHERE id = ?",
                (fire_time, message, task_id, task_id, time.time(), schedule_id),
            )
            self._changed(schedule_id)

    def update(self, schedule_id: str, **fields: Any) -> None:
        if "paused" in fields:
            fields["paused"] = int(fields["paused"])
        self.db.update_row("schedules", schedule_id, {**fields, "updated_at": time.time()})
        self._changed(schedule_id)

    def delete(self, schedule_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
            self._changed(schedule_id)

"""Checkpoints of training runs as rows: what a job wrote under ``tasks/<id>/checkpoints/``, indexed so
they can be listed across runs, paged and addressed as ``trio://<run>/weights/<id>``.

The folders are the truth (jobs write them without the database); :meth:`replace_for_task` makes the
rows of one task match its folders, and the checkpoint service calls it when a run ends and before a
read of a task that is still training.
"""

from __future__ import annotations

import json
import sqlite3

from ..domain import Checkpoint
from .db import Database
from .rows import entity


def checkpoint_of(row: sqlite3.Row) -> Checkpoint:
    return entity(Checkpoint, row, json_columns=("metrics",))


class CheckpointRepository:
    def __init__(self, db: Database):
        self.db = db

    def indexed_task_ids(self) -> set[str]:
        """Tasks that have checkpoint rows."""
        return {r[0] for r in self.db.query("SELECT DISTINCT task_id FROM checkpoints")}

    def replace_for_task(self, task_id: str, rows: list[Checkpoint]) -> None:
        """Make ``task_id``'s rows exactly ``rows`` (one transaction: readers see the old set or the new;
        the rows' own ``task_id`` is not read)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM checkpoints WHERE task_id = ?", (task_id,))
            conn.executemany(
                "INSERT INTO checkpoints(id, task_id, run_index, kind, epoch, path, size_bytes, "
                "metrics, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.id,
                        task_id,
                        r.run_index,
                        r.kind,
                        r.epoch,
                        r.path,
                        r.size_bytes,
                        json.dumps(r.metrics),
                        r.created_at,
                    )
                    for r in rows
                ],
            )

    def for_task(self, task_id: str) -> list[Checkpoint]:
        return [
            checkpoint_of(r)
            for r in self.db.query(
                "SELECT * FROM checkpoints WHERE task_id = ? ORDER BY created_at, id", (task_id,)
            )
        ]

    def for_tasks(self, task_ids: list[str]) -> dict[str, list[Checkpoint]]:
        out: dict[str, list[Checkpoint]] = {}
        for start in range(0, len(task_ids), 500):
            chunk = task_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self.db.query(
                f"SELECT * FROM checkpoints WHERE task_id IN ({marks}) ORDER BY created_at, id", tuple(chunk)
            ):
                out.setdefault(row["task_id"], []).append(checkpoint_of(row))
        return out

    def get(self, task_id: str, cid: str) -> Checkpoint | None:
        row = self.db.query_one("SELECT * FROM checkpoints WHERE task_id = ? AND id = ?", (task_id, cid))
        return checkpoint_of(row) if row else None

    def page(self, owner: str, limit: int, offset: int) -> tuple[list[Checkpoint], int]:
        """All of ``owner``'s checkpoints, oldest first (new ones append, so pages already read stay put)."""
        total = self.db.scalar(
            "SELECT count(*) FROM checkpoints c CROSS JOIN tasks t ON t.id = c.task_id WHERE t.owner = ?",
            (owner,),
        )
        rows = self.db.query(
            "SELECT c.* FROM checkpoints c CROSS JOIN tasks t ON t.id = c.task_id WHERE t.owner = ? "
            "ORDER BY c.created_at, c.task_id, c.id LIMIT ? OFFSET ?",
            (owner, limit, offset),
        )
        return [checkpoint_of(r) for r in rows], int(total)

    def delete(self, task_id: str, cid: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM checkpoints WHERE task_id = ? AND id = ?", (task_id, cid))

"""Datasets and projects in the database (their folders live under datasets/ and projects/)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

from ..domain import Dataset, Project
from .db import Database
from .ids import next_id
from .rows import entity
from .tasks import notify


def dataset_of(row: sqlite3.Row) -> Dataset:
    return entity(Dataset, row, json_columns=("attrs",))


def project_of(row: sqlite3.Row) -> Project:
    return entity(Project, row, json_columns=("attrs",))


class DatasetRepository:
    def __init__(self, db: Database):
        self.db = db
        # called with a dataset's id after a write to it commits (the events channel listens here)
        self.on_change: list[Callable[[str], None]] = []

    def _changed(self, did: str) -> None:
        if self.on_change:
            self.db.after_commit(lambda: notify(self.on_change, (did,)))

    def create(self, owner: str, name: str, description: str, dataset_type: str) -> Dataset:
        now = time.time()
        with self.db.transaction() as conn:
            did = next_id(conn, "dataset")
            conn.execute(
                "INSERT INTO datasets(id, owner, name, description, dataset_type, status, path, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, 'empty', ?, ?, ?)",
                (did, owner, name, description, dataset_type, f"datasets/{did}", now, now),
            )
            self._changed(did)
        return self.get(did)  # type: ignore[return-value]

    def get(self, did: str) -> Dataset | None:
        row = self.db.query_one("SELECT * FROM datasets WHERE id = ?", (did,))
        return dataset_of(row) if row else None

    def list(self) -> list[Dataset]:
        return [dataset_of(r) for r in self.db.query("SELECT * FROM datasets ORDER BY created_at, id")]

    def update(self, did: str, **fields: Any) -> None:
        self.db.update_row("datasets", did, {**fields, "updated_at": time.time()}, ("attrs",))
        self._changed(did)

    def delete(self, did: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM datasets WHERE id = ?", (did,))
            self._changed(did)

    def project_ids(self, did: str) -> list[str]:
        return [
            r[0] for r in self.db.query("SELECT id FROM projects WHERE dataset_id = ? ORDER BY id", (did,))
        ]


class ProjectRepository:
    def __init__(self, db: Database):
        self.db = db

    def create(self, owner: str, name: str, description: str, project_type: str) -> Project:
        with self.db.transaction() as conn:
            pid = next_id(conn, "project")
            conn.execute(
                "INSERT INTO projects(id, owner, name, description, project_type, path, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pid, owner, name, description, project_type, f"projects/{pid}", time.time()),
            )
        return self.get(pid)  # type: ignore[return-value]

    def get(self, pid: str) -> Project | None:
        row = self.db.query_one("SELECT * FROM projects WHERE id = ?", (pid,))
        return project_of(row) if row else None

    def list(self) -> list[Project]:
        return [project_of(r) for r in self.db.query("SELECT * FROM projects ORDER BY created_at, id")]

    def update(self, pid: str, **fields: Any) -> None:
        self.db.update_row("projects", pid, fields, ("attrs",))

    def delete(self, pid: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM projects WHERE id = ?", (pid,))

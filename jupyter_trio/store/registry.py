"""The model registry in the database: named models, their numbered versions and aliases."""

from __future__ import annotations

import sqlite3
import time

from ..domain import ModelVersion, RegisteredModel
from .db import Database
from .rows import entity


class RegistryRepository:
    def __init__(self, db: Database):
        self.db = db

    # ---- models
    def model(self, name: str) -> RegisteredModel | None:
        row = self.db.query_one("SELECT * FROM registered_models WHERE name = ?", (name,))
        return self._model(row) if row else None

    def models(self) -> list[RegisteredModel]:
        return [self._model(r) for r in self.db.query("SELECT * FROM registered_models ORDER BY name")]

    def _model(self, row: sqlite3.Row) -> RegisteredModel:
        latest = self.db.scalar("SELECT MAX(version) FROM model_versions WHERE name = ?", (row["name"],))
        aliases = {
            r["alias"]: r["version"]
            for r in self.db.query(
                "SELECT alias, version FROM model_aliases WHERE name = ? ORDER BY alias", (row["name"],)
            )
        }
        return entity(RegisteredModel, row, latest_version=int(latest or 0), aliases=aliases)

    def create_model(self, name: str, owner: str, description: str) -> bool:
        """Make the model unless it exists; True when it was made."""
        now = time.time()
        with self.db.transaction() as conn:
            made = conn.execute(
                "INSERT OR IGNORE INTO registered_models(name, owner, description, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, owner, description, now, now),
            ).rowcount
        return bool(made)

    def delete_model(self, name: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM model_aliases WHERE name = ?", (name,))
            conn.execute("DELETE FROM model_versions WHERE name = ?", (name,))
            conn.execute("DELETE FROM registered_models WHERE name = ?", (name,))

    # ---- versions
    def add_version(self, version: ModelVersion) -> int:
        """Insert ``version`` as the model's next number (in one transaction: two registrations never share
        a number); returns the number."""
        with self.db.transaction() as conn:
            number = conn.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE name = ?", (version.name,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO model_versions(name, version, owner, source, weights_id, task_id, run_index, "
                "checkpoint, epoch, export_path, description, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    version.name,
                    number,
                    version.owner,
                    version.source,
                    version.weights_id,
                    version.task_id,
                    version.run_index,
                    version.checkpoint,
                    version.epoch,
                    version.export_path,
                    version.description,
                    version.created_at,
                ),
            )
            conn.execute(
                "UPDATE registered_models SET updated_at = ? WHERE name = ?", (time.time(), version.name)
            )
        return int(number)

    def version(self, name: str, number: int) -> ModelVersion | None:
        row = self.db.query_one("SELECT * FROM model_versions WHERE name = ? AND version = ?", (name, number))
        return self._version(row) if row else None

    def versions(self, name: str) -> list[ModelVersion]:
        rows = self.db.query("SELECT * FROM model_versions WHERE name = ? ORDER BY version", (name,))
        return [self._version(r) for r in rows]

    def versions_of_task(self, task_id: str) -> list[ModelVersion]:
        rows = self.db.query(
            "SELECT * FROM model_versions WHERE task_id = ? ORDER BY name, version", (task_id,)
        )
        return [self._version(r) for r in rows]

    def _version(self, row: sqlite3.Row) -> ModelVersion:
        aliases = tuple(
            r[0]
            for r in self.db.query(
                "SELECT alias FROM model_aliases WHERE name = ? AND version = ? ORDER BY alias",
                (row["name"], row["version"]),
            )
        )
        return entity(ModelVersion, row, aliases=aliases)

    # ---- aliases
    def alias(self, name: str, alias: str) -> int | None:
        return self.db.scalar("SELECT version FROM model_aliases WHERE name = ? AND alias = ?", (name, alias))

    def set_alias(self, name: str, alias: str, number: int) -> None:
        """Point ``alias`` at version ``number`` (moved from the version it named, if any)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO model_aliases(name, alias, version) VALUES (?, ?, ?) "
                "ON CONFLICT(name, alias) DO UPDATE SET version = excluded.version",
                (name, alias, number),
            )
            conn.execute("UPDATE registered_models SET updated_at = ? WHERE name = ?", (time.time(), name))

    def delete_alias(self, name: str, alias: str) -> bool:
        with self.db.transaction() as conn:
            return bool(
                conn.execute("DELETE FROM model_aliases WHERE name = ? AND alias = ?", (name, alias)).rowcount
            )

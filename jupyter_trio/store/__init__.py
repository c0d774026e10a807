"""The workspace store: SQLite metadata (WAL, migrated on open) plus artifact folders."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import WorkspaceDamaged
from .checkpoints import CheckpointRepository
from .db import Database, StoreBusyError
from .migrations import SCHEMA_VERSION, SchemaTooNewError, migrate, schema_version
from .paths import PathOutsideWorkspace, WorkspaceLayout, resolve_in_roots, resolve_inside
from .projects import DatasetRepository, ProjectRepository
from .registry import RegistryRepository
from .run_series import RunSeriesRepository
from .run_table import RunTableRepository
from .schedules import ScheduleRepository
from .sessions import SamplerRepository, SessionRepository
from .sweeps import SweepRepository
from .tasks import TaskRepository
from .users import SettingsRepository, UserRepository
from .weights import WeightsRepository

__all__ = [
    "Store",
    "WorkspaceDamaged",
    "StoreBusyError",
    "SchemaTooNewError",
    "PathOutsideWorkspace",
    "SCHEMA_VERSION",
    "resolve_in_roots",
    "resolve_inside",
]


class Store:
    """One workspace: its database, its folders, and the repositories over them.

    Opening checks the database (``PRAGMA quick_check``); a damaged one raises ``WorkspaceDamaged`` and is
    left untouched."""

    def __init__(self, workspace_dir: str | Path):
        self.layout = WorkspaceLayout(workspace_dir)
        self.layout.ensure()
        self.db = Database(self.layout.db_path)
        try:
            if self.layout.db_path.exists() and self.layout.db_path.stat().st_size:
                problems = self.db.query("PRAGMA quick_check(5)")
                if [r[0] for r in problems] != ["ok"]:
                    raise WorkspaceDamaged(self.layout.db_path, "; ".join(r[0] for r in problems))
            self.migrated_from = migrate(self.db)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise WorkspaceDamaged(self.layout.db_path, str(exc)) from None
        except WorkspaceDamaged:
            self.db.close()
            raise
        self.users = UserRepository(self.db)
        self.settings = SettingsRepository(self.db)
        self.tasks = TaskRepository(self.db)
        self.datasets = DatasetRepository(self.db)
        self.projects = ProjectRepository(self.db)
        self.weights = WeightsRepository(self.db)
        self.checkpoints = CheckpointRepository(self.db)
        self.sessions = SessionRepository(self.db)
        self.samplers = SamplerRepository(self.db)
        self.sweeps = SweepRepository(self.db)
        self.schedules = ScheduleRepository(self.db)
        self.registry = RegistryRepository(self.db)
        self.run_series = RunSeriesRepository(self.db, self.layout)
        self.run_table = RunTableRepository(self.db, self.layout, self.run_series)

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def schema_version(self) -> int:
        return schema_version(self.db)

    def resolve(self, relative: str) -> Path:
        """A request path made safe: see :func:`resolve_inside`."""
        return resolve_inside(self.root, relative)

    def close(self) -> None:
        self.db.close()

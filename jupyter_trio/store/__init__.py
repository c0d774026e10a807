"""The workspace store: SQLite metadata (WAL, migrated on open) plus artifact folders."""

from __future__ import annotations

from pathlib import Path

from .checkpoints import CheckpointRepository
from .db import Database, StoreBusyError
from .migrations import SCHEMA_VERSION, SchemaTooNewError, migrate, schema_version
from .paths import PathOutsideWorkspace, WorkspaceLayout, resolve_in_roots, resolve_inside
from .projects import DatasetRepository, ProjectRepository
from .sessions import SamplerRepository, SessionRepository
from .tasks import TaskRepository
from .users import SettingsRepository, UserRepository
from .weights import WeightsRepository

__all__ = [
    "Store",
    "StoreBusyError",
    "SchemaTooNewError",
    "PathOutsideWorkspace",
    "SCHEMA_VERSION",
    "resolve_in_roots",
    "resolve_inside",
]


class Store:
    """One workspace: its database, its folders, and the repositories over them."""

    def __init__(self, workspace_dir: str | Path):
        self.layout = WorkspaceLayout(workspace_dir)
        self.layout.ensure()
        self.db = Database(self.layout.db_path)
        self.migrated_from = migrate(self.db)
        self.users = UserRepository(self.db)
        self.settings = SettingsRepository(self.db)
        self.tasks = TaskRepository(self.db)
        self.datasets = DatasetRepository(self.db)
        self.projects = ProjectRepository(self.db)
        self.weights = WeightsRepository(self.db)
        self.checkpoints = CheckpointRepository(self.db)
        self.sessions = SessionRepository(self.db)
        self.samplers = SamplerRepository(self.db)

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

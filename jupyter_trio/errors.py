"""Errors the service layer raises; every dialect turns them into its own 4xx reply.

Each carries a stable machine ``code`` and an HTTP ``status``. Nothing here imports tornado: the
store, runner and trainers raise these, the handlers translate them. Every ``TrioError`` subclass is defined
here, whichever layer raises it (``tests/test_layering.py``), so a dialect's translation sees them all.
"""

from __future__ import annotations

from pathlib import Path

import yaml


class TrioError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class BadRequest(TrioError):
    status, code = 400, "bad_request"


class ValidationFailed(TrioError):
    status, code = 422, "validation_error"


class Forbidden(TrioError):
    status, code = 403, "forbidden"


class NotFound(TrioError):
    status, code = 404, "not_found"


class Conflict(TrioError):
    status, code = 409, "conflict"


class PayloadTooLarge(TrioError):
    status, code = 413, "payload_too_large"


class Unavailable(TrioError):
    status, code = 503, "unavailable"


# ---- raised by one layer each (kept here so every error the dialects render is in one place)
class PathOutsideWorkspace(Forbidden, ValueError):
    """A path from a request points outside the folders it may reach (``..``, absolute, or a symlink)."""

    code = "outside_workspace"


class QueryError(ValidationFailed):
    """A run-table query that cannot be parsed (``services/run_query.py``): ``position`` is the 0-based
    character where it went wrong; the message names it and what was expected there."""

    code = "bad_query"

    def __init__(self, what: str, position: int, expected: str, found: str):
        self.position = position
        super().__init__(f"{what}: at position {position}: expected {expected}, found {found}")


class YAMLTooLarge(ValidationFailed, yaml.YAMLError):
    """A document refused before it is built: too long, too many nodes once aliases expand, self-referencing
    or too deep (``config_yaml``). A ``YAMLError`` too, so callers that catch bad YAML catch this as well."""

    code = "yaml_too_large"


class OffsetMismatch(Conflict):
    """An ingest write's offset is not where the file ends; ``received`` tells the client where to resume."""

    code = "offset_mismatch"

    def __init__(self, offset: int, received: int):
        super().__init__(f"offset {offset} does not match the {received} bytes already received")
        self.received = received


class TrainingUnavailable(TrioError):
    """The Python that runs jobs cannot train (no PaddlePaddle)."""

    status, code = 409, "training_unavailable"


class WorkspaceDamaged(Unavailable):
    """``trio.db`` cannot be read (corrupt, truncated, not a database). It is never written over."""

    code = "workspace_damaged"

    def __init__(self, path: Path, detail: str):
        self.path = path
        super().__init__(
            f"the workspace database {path} is damaged ({detail}); it was left as it is. "
            f"`jupyter trio check {path.parent}` says what can be recovered. To start afresh, move "
            f"{path.name} (with {path.name}-wal and {path.name}-shm) out of the way: the task, dataset and "
            "run folders next to it are kept."
        )


class StoreBusyError(Unavailable):
    """The database stayed locked by other writers for longer than the store is willing to wait."""

    code = "busy"


class StoreFullError(TrioError):
    """The disk under the workspace is full: nothing was written (the transaction rolled back)."""

    status, code = 507, "disk_full"

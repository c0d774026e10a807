"""Who is acting in the current request: set by the handlers for every request (the Hub user, a guest on a
server shared through JupyterHub, or the local owner) and read where a record notes its creator (a run)."""

from __future__ import annotations

from contextvars import ContextVar

acting_user: ContextVar[str] = ContextVar("trio_acting_user", default="")

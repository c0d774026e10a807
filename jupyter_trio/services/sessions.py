"""Client sessions (a kernel's ServiceClient, or any RestClient): what each made, and when last used."""

from __future__ import annotations

from pathlib import Path

from ..domain import Session
from ..errors import NotFound
from ..store import Store
from ..vocabulary import RUN_KINDS


class SessionService:
    def __init__(self, store: Store, root_dir: Path):
        self.store = store
        self.root_dir = Path(root_dir)

    def touch(self, sid: str) -> None:
        """A request named this session (``X-Trio-Session``): it is alive now. Unknown ids are ignored."""
        if sid and self.store.sessions.get(sid) is not None:
            self.store.sessions.touch(sid)

    def create(
        self, owner: str, kernel_id: str, notebook_path: str, user_metadata: dict[str, str] | None
    ) -> Session:
        return self.store.sessions.create(
            owner, kernel_id, self.server_relative(notebook_path), user_metadata
        )

    def get(self, sid: str, owner: str) -> Session:
        """``owner``'s session (another user's is as absent as a missing one)."""
        session = self.store.sessions.get(sid)
        if session is None or session.owner != owner:
            raise NotFound(f"no such session: {sid!r}")
        return session

    def page(self, owner: str, limit: int, offset: int) -> tuple[list[Session], int]:
        return self.store.sessions.page(owner, limit, offset)

    def contents(self, sid: str) -> tuple[list[str], list[str]]:
        """(training run ids, sampler ids) the session made."""
        return self.store.sessions.training_run_ids(sid, RUN_KINDS), self.store.samplers.ids_of_session(sid)

    def server_relative(self, path: str) -> str:
        """A kernel knows its notebook as an OS path (JPY_SESSION_NAME); keep it as Jupyter names it, relative
        to the server's root, when it lies inside."""
        root = self.root_dir.expanduser()
        if path and Path(path).is_absolute() and root.is_dir():
            try:
                return Path(path).resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                pass
        return path

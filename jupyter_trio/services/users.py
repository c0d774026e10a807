"""Who uses the server: the owner name of a personal server, and the users seen on a shared one."""

from __future__ import annotations

import functools
import getpass
import os

from ..store import Store


@functools.cache
def local_owner() -> str:
    """The OS account running this process: the owner of a personal (non-Hub) server's data."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


class UserService:
    def __init__(self, store: Store):
        self.store = store

    def touch(self, name: str, display_name: str = "") -> None:
        """Record that ``name`` used the server now (written at most once a minute per user)."""
        self.store.users.touch(name, display_name)

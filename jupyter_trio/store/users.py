"""Users as jupyter_server's IdentityProvider names them (the Hub user on JupyterHub)."""

from __future__ import annotations

import json
import time
from typing import Any

from .db import Database

# A user row is rewritten at most this often: every request knows its user, but a write per request
# would make reads contend with each other for the database's single writer slot.
TOUCH_INTERVAL_S = 60.0


class UserRepository:
    def __init__(self, db: Database):
        self.db = db
        self._last_touch: dict[str, float] = {}

    def touch(self, name: str, display_name: str = "") -> None:
        """Record that ``name`` used the server now (insert on first sight)."""
        now = time.time()
        if now - self._last_touch.get(name, 0.0) < TOUCH_INTERVAL_S:
            return
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO users(name, display_name, created_at, last_seen_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET last_seen_at = excluded.last_seen_at, "
                "display_name = excluded.display_name",
                (name, display_name or name, now, now),
            )
        self._last_touch[name] = now

    def get(self, name: str) -> dict | None:
        row = self.db.query_one("SELECT * FROM users WHERE name = ?", (name,))
        return dict(row) if row else None


class SettingsRepository:
    """Per-user settings (JSON values by key), e.g. the script workspace a user has open."""

    def __init__(self, db: Database):
        self.db = db

    def get(self, owner: str, key: str) -> Any:
        row = self.db.query_one("SELECT value FROM settings WHERE owner = ? AND key = ?", (owner, key))
        return json.loads(row[0]) if row else None

    def setdefault(self, owner: str, key: str, value: Any) -> Any:
        """The setting, stored as ``value`` first if it has none (whoever stores first wins)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO settings(owner, key, value) VALUES (?, ?, ?) ON CONFLICT(owner, key) DO NOTHING",
                (owner, key, json.dumps(value)),
            )
        return self.get(owner, key)

    def set(self, owner: str, key: str, value: Any) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO settings(owner, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT(owner, key) DO UPDATE SET value = excluded.value",
                (owner, key, json.dumps(value)),
            )

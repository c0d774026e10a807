"""Where the GPU arbiter keeps its leases across restarts: one SQLite file (WAL), written incrementally.

Each change of the book writes only the leases and usage totals it touched, in one transaction, so a
request costs the same however long the service has run. Renewals are not written (a restarted service
gives every held lease a full TTL instead). The file holds the leases' secrets: it is created ``0600``
(SQLite gives its ``-wal`` and ``-shm`` files the same mode).

A state file of earlier versions (one JSON document, rewritten on every change) is read once and moved
aside as ``<name>.migrated``.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import fields
from pathlib import Path

from .leases import Lease, LeaseBook
from .schedules import KeptSchedule

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS usage (
    user TEXT NOT NULL, bucket INTEGER NOT NULL, seconds REAL NOT NULL, PRIMARY KEY (user, bucket)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS schedules (
    user TEXT NOT NULL, server TEXT NOT NULL, id TEXT NOT NULL, cron TEXT NOT NULL, timezone TEXT NOT NULL,
    next_fire REAL, message TEXT NOT NULL DEFAULT '', PRIMARY KEY (user, server, id)
);
"""
LEASE_FIELDS = {f.name for f in fields(Lease)}


def _is_json_state(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(1) == b"{"
    except OSError:
        return False


class LeaseStore:
    """The SQLite file at ``path`` (created if missing): ``load`` fills a book, ``flush`` writes its
    changes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._legacy: Path | None = None
        if _is_json_state(self.path):  # this very path held the old JSON state
            self._legacy = self.path.with_name(self.path.name + ".migrated")
            os.replace(self.path, self._legacy)
        elif not self.path.exists() and _is_json_state(self.path.with_suffix(".json")):
            self._legacy = self.path.with_suffix(".json")  # the old default name beside the new one
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across a crash of the service
        self.db.executescript(SCHEMA)

    def load(self, book: LeaseBook) -> None:
        """Fill ``book`` from the file, or from an old JSON state file (then written here at once)."""
        if self._legacy is not None:
            book.load_json(json.loads(self._legacy.read_text()))
            self.flush(book)
            if self._legacy.suffix == ".json":
                os.replace(self._legacy, self._legacy.with_name(self._legacy.name + ".migrated"))
            log.info("GPU leases migrated from %s to %s", self._legacy, self.path)
            self._legacy = None
            return
        leases = []
        for (data,) in self.db.execute("SELECT data FROM leases"):
            item = json.loads(data)
            leases.append(Lease(**{k: v for k, v in item.items() if k in LEASE_FIELDS}))
        used: dict[str, dict[int, float]] = {}
        for user, bucket, seconds in self.db.execute("SELECT user, bucket, seconds FROM usage"):
            used.setdefault(user, {})[int(bucket)] = float(seconds)
        row = self.db.execute("SELECT value FROM meta WHERE key = 'next'").fetchone()
        book.restore(leases, used, int(row[0]) if row else 1)
        book.take_changes()  # what was just read needs no writing

    def flush(self, book: LeaseBook) -> int:
        """Write what changed in ``book`` since the last flush; returns the number of rows written."""
        changes = book.take_changes()
        if not (changes.leases or changes.forgotten or changes.usage):
            return 0
        with self.db:  # one transaction
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO leases (id, data) VALUES (?, ?)",
                [(x.id, json.dumps(x.to_dict(with_secret=True))) for x in changes.leases],
            )
            self.db.executemany("DELETE FROM leases WHERE id = ?", [(lid,) for lid in changes.forgotten])
            kept = [(u, b, s) for (u, b), s in changes.usage.items() if s is not None]
            dropped = [(u, b) for (u, b), s in changes.usage.items() if s is None]
            self.db.executemany("INSERT OR REPLACE INTO usage (user, bucket, seconds) VALUES (?, ?, ?)", kept)
            self.db.executemany("DELETE FROM usage WHERE user = ? AND bucket = ?", dropped)
            self.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('next', ?)", (str(changes.next_id),)
            )
        return len(changes.leases) + len(changes.forgotten) + len(changes.usage)

    # ---- users' schedules (hub/schedules.py): kept so a fire can start a stopped server
    def replace_schedules(self, user: str, server: str, rows: list[KeptSchedule]) -> None:
        """What ``user``'s server ``server`` says its schedules are now (its previous list is replaced)."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM schedules WHERE user = ? AND server = ?", (user, server))
            self.db.executemany(
                "INSERT INTO schedules (user, server, id, cron, timezone, next_fire, message) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(user, server, r.id, r.cron, r.timezone, r.next_fire, r.message) for r in rows],
            )

    def schedules(self, user: str | None = None) -> list[KeptSchedule]:
        sql = "SELECT user, server, id, cron, timezone, next_fire, message FROM schedules"
        rows = self.db.execute(
            sql + (" WHERE user = ?" if user else "") + " ORDER BY user, server, id", (user,) if user else ()
        )
        return [KeptSchedule(*row) for row in rows]

    def due_schedules(self, now: float) -> list[KeptSchedule]:
        rows = self.db.execute(
            "SELECT user, server, id, cron, timezone, next_fire, message FROM schedules "
            "WHERE next_fire IS NOT NULL AND next_fire <= ? ORDER BY next_fire",
            (now,),
        )
        return [KeptSchedule(*row) for row in rows]

    def schedule_fired(self, kept: KeptSchedule, next_fire: float | None, message: str) -> None:
        """The service acted on a due fire: the next one, and what it did (the user's server, once up,
        sends its own list again)."""
        with self.db:
            self.db.execute(
                "UPDATE schedules SET next_fire = ?, message = ? WHERE user = ? AND server = ? AND id = ?",
                (next_fire, message, kept.user, kept.server, kept.id),
            )

    def close(self) -> None:
        self.db.close()

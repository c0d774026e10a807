"""Client sessions (one ``ServiceClient``, usually one kernel) and the samplers they load."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from ..domain import JSONObject, Sampler, Session
from .db import Database
from .ids import next_id
from .rows import entity


def session_of(row: sqlite3.Row) -> Session:
    return entity(Session, row, json_columns=("attrs",))


def sampler_of(row: sqlite3.Row) -> Sampler:
    return entity(Sampler, row, json_columns=("attrs",))


class SessionRepository:
    def __init__(self, db: Database):
        self.db = db

    def create(
        self,
        owner: str,
        kernel_id: str = "",
        notebook_path: str = "",
        user_metadata: dict[str, str] | None = None,
    ) -> Session:
        now = time.time()
        with self.db.transaction() as conn:
            sid = next_id(conn, "session")
            conn.execute(
                "INSERT INTO sessions(id, owner, kernel_id, notebook_path, attrs, created_at, "
                "last_request_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    sid,
                    owner,
                    kernel_id,
                    notebook_path,
                    json.dumps({"user_metadata": user_metadata or {}}),
                    now,
                    now,
                ),
            )
        return self.get(sid)  # type: ignore[return-value]

    def get(self, sid: str) -> Session | None:
        row = self.db.query_one("SELECT * FROM sessions WHERE id = ?", (sid,))
        return session_of(row) if row else None

    def touch(self, sid: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE sessions SET last_request_at = ? WHERE id = ?", (time.time(), sid))

    def page(self, owner: str, limit: int, offset: int) -> tuple[list[Session], int]:
        """Oldest first, so sessions opened while a client pages never shift the pages it has not read."""
        total = self.db.scalar("SELECT count(*) FROM sessions WHERE owner = ?", (owner,))
        rows = self.db.query(
            "SELECT * FROM sessions WHERE owner = ? ORDER BY created_at, id LIMIT ? OFFSET ?",
            (owner, limit, offset),
        )
        return [session_of(r) for r in rows], int(total)

    def training_run_ids(self, sid: str, kinds: tuple[str, ...]) -> list[str]:
        marks = ", ".join("?" for _ in kinds)
        return [
            r[0]
            for r in self.db.query(
                f"SELECT id FROM tasks WHERE session_id = ? AND kind IN ({marks}) ORDER BY created_at, id",
                (sid, *kinds),
            )
        ]


class SamplerRepository:
    def __init__(self, db: Database):
        self.db = db

    def create(
        self, owner: str, session_id: str | None, source_path: str, task_id: str | None, attrs: JSONObject
    ) -> Sampler:
        with self.db.transaction() as conn:
            sid = next_id(conn, "sampler")
            conn.execute(
                "INSERT INTO samplers(id, owner, session_id, source_path, task_id, status, attrs, "
                "created_at) "
                "VALUES (?, ?, ?, ?, ?, 'ready', ?, ?)",
                (sid, owner, session_id, source_path, task_id, json.dumps(attrs), time.time()),
            )
        return self.get(sid)  # type: ignore[return-value]

    def get(self, sid: str) -> Sampler | None:
        row = self.db.query_one("SELECT * FROM samplers WHERE id = ?", (sid,))
        return sampler_of(row) if row else None

    def ids_of_session(self, session_id: str) -> list[str]:
        return [
            r[0]
            for r in self.db.query(
                "SELECT id FROM samplers WHERE session_id = ? ORDER BY created_at, id", (session_id,)
            )
        ]

    def update(self, sid: str, **fields: Any) -> None:
        self.db.update_row("samplers", sid, fields, ("attrs",))

    def delete(self, sid: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM samplers WHERE id = ?", (sid,))

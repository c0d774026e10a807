"""Weights the user keeps: pretrained models saved from tasks (PM0001...), registered exports (EM0001...)."""

from __future__ import annotations

import json
import time
from typing import Any

from .db import Database
from .ids import next_id
from .projects import row_with_attrs


class WeightsRepository:
    def __init__(self, db: Database):
        self.db = db

    def create(
        self,
        owner: str,
        kind: str,
        name: str,
        task_id: str | None,
        model_type: str,
        status: str,
        path: str,
        attrs: dict[str, Any],
        description: str = "",
    ) -> dict[str, Any]:
        with self.db.transaction() as conn:
            wid = next_id(conn, kind)
            conn.execute(
                "INSERT INTO weights(id, owner, kind, name, description, task_id, model_type, "
                "status, path, attrs, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    wid,
                    owner,
                    kind,
                    name,
                    description,
                    task_id,
                    model_type,
                    status,
                    path,
                    json.dumps(attrs),
                    time.time(),
                ),
            )
        return self.get(wid)  # type: ignore[return-value]

    def get(self, wid: str) -> dict[str, Any] | None:
        return row_with_attrs(self.db.query_one("SELECT * FROM weights WHERE id = ?", (wid,)))

    def list(self, kind: str | None = None) -> list[dict[str, Any]]:
        if kind:
            rows = self.db.query("SELECT * FROM weights WHERE kind = ? ORDER BY created_at, id", (kind,))
        else:
            rows = self.db.query("SELECT * FROM weights ORDER BY created_at, id")
        return [row_with_attrs(r) for r in rows]  # type: ignore[misc]

    def page(self, owner: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        total = self.db.scalar("SELECT count(*) FROM weights WHERE owner = ?", (owner,))
        rows = self.db.query(
            "SELECT * FROM weights WHERE owner = ? ORDER BY created_at, id LIMIT ? OFFSET ?",
            (owner, limit, offset),
        )
        return [row_with_attrs(r) for r in rows], int(total)  # type: ignore[misc]

    def update(self, wid: str, **fields: Any) -> None:
        self.db.update_row("weights", wid, fields, ("attrs",))

    def delete(self, wid: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM weights WHERE id = ?", (wid,))

"""Weights the user keeps: pretrained models saved from tasks (PM0001...), registered exports (EM0001...)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from ..domain import JSONObject, Weights, WeightsKind, WeightsState
from .db import Database
from .ids import next_id
from .rows import entity


def weights_of(row: sqlite3.Row) -> Weights:
    return entity(Weights, row, json_columns=("attrs",))


class WeightsRepository:
    def __init__(self, db: Database):
        self.db = db

    def create(
        self,
        owner: str,
        kind: WeightsKind,
        name: str,
        task_id: str | None,
        model_type: str,
        status: WeightsState,
        path: str,
        attrs: JSONObject,
        description: str = "",
    ) -> Weights:
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

    def get(self, wid: str) -> Weights | None:
        row = self.db.query_one("SELECT * FROM weights WHERE id = ?", (wid,))
        return weights_of(row) if row else None

    def list(self, kind: str | None = None) -> list[Weights]:
        if kind:
            rows = self.db.query("SELECT * FROM weights WHERE kind = ? ORDER BY created_at, id", (kind,))
        else:
            rows = self.db.query("SELECT * FROM weights ORDER BY created_at, id")
        return [weights_of(r) for r in rows]

    def page(self, owner: str, limit: int, offset: int) -> tuple[list[Weights], int]:
        total = self.db.scalar("SELECT count(*) FROM weights WHERE owner = ?", (owner,))
        rows = self.db.query(
            "SELECT * FROM weights WHERE owner = ? ORDER BY created_at, id LIMIT ? OFFSET ?",
            (owner, limit, offset),
        )
        return [weights_of(r) for r in rows], int(total)

    def update(self, wid: str, **fields: Any) -> None:
        self.db.update_row("weights", wid, fields, ("attrs",))

    def delete(self, wid: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM weights WHERE id = ?", (wid,))

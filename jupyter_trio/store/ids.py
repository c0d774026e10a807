"""PaddleX-style sequential ids: ``D0001``, ``P0001``, ``T0001``, ``PM0001``, ``EM0001``."""

from __future__ import annotations

import sqlite3

from .db import Database

PREFIXES = {
    "dataset": "D",
    "project": "P",
    "task": "T",
    "pretrained": "PM",
    "exported": "EM",
    "session": "S",
    "sampler": "SM",
    "sweep": "SW",
    "schedule": "SC",
}


def next_id(conn: sqlite3.Connection, kind: str) -> str:
    """Allocate the next id of ``kind`` inside the caller's write transaction."""
    prefix = PREFIXES[kind]
    row = conn.execute(
        "INSERT INTO id_counters(prefix, last) VALUES (?, 1) "
        "ON CONFLICT(prefix) DO UPDATE SET last = last + 1 RETURNING last",
        (prefix,),
    ).fetchone()
    return f"{prefix}{row[0]:04d}"


def allocate(db: Database, kind: str) -> str:
    with db.transaction() as conn:
        return next_id(conn, kind)


def next_ids(conn: sqlite3.Connection, kind: str, count: int) -> list[str]:
    """Allocate ``count`` consecutive ids of ``kind`` with one statement (batch creation)."""
    prefix = PREFIXES[kind]
    row = conn.execute(
        "INSERT INTO id_counters(prefix, last) VALUES (?, ?) "
        "ON CONFLICT(prefix) DO UPDATE SET last = last + excluded.last RETURNING last",
        (prefix, count),
    ).fetchone()
    last = row[0]
    return [f"{prefix}{n:04d}" for n in range(last - count + 1, last + 1)]

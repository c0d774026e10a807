"""SQLite connection handling: WAL mode, one connection per thread, write transactions that wait.

Several writers share one database file: the server's threads, the runner's supervisor and (in tests
and tools) other processes. WAL lets readers run beside a writer; ``BEGIN IMMEDIATE`` takes the write
lock up front, so a transaction never fails half-way when it upgrades from a read lock, and the
``busy_timeout`` plus a bounded retry make a busy database wait instead of raising
``database is locked`` to a client.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StoreBusyError, StoreFullError, ValidationFailed

BUSY_TIMEOUT_MS = 30_000
LOCK_RETRIES = 20


def _is_full(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc).lower()


def _full(exc: BaseException) -> StoreFullError:
    return StoreFullError(
        f"no space left on the workspace's disk ({exc}): nothing was changed; free some space"
    )


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


class Database:
    """A SQLite file opened once per thread, in WAL mode with foreign keys on."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._retry(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @staticmethod
    def _retry(fn):
        for attempt in range(LOCK_RETRIES):
            try:
                return fn()
            except OverflowError:  # a number from a request past SQLite's 64-bit integers (?run=10**30)
                raise ValidationFailed("a number in the request is out of range") from None
            except sqlite3.OperationalError as exc:
                if _is_full(exc):
                    raise _full(exc) from exc
                if not _is_locked(exc) or attempt == LOCK_RETRIES - 1:
                    if _is_locked(exc):
                        raise StoreBusyError("the workspace database is busy; try again") from exc
                    raise
                time.sleep(min(0.5, 0.01 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); commits on success, rolls back on error."""
        conn = self.connection()
        if conn.in_transaction:  # nested use joins the outer transaction
            yield conn
            return
        self._retry(lambda: conn.execute("BEGIN IMMEDIATE"))
        self._local.after = []
        try:
            yield conn
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._local.after = []
            if _is_full(exc):
                raise _full(exc) from exc
            if isinstance(exc, OverflowError):  # a number past SQLite's integers: the request's, not ours
                raise ValidationFailed("a number in the request is out of range") from None
            raise
        else:
            try:
                self._retry(lambda: conn.execute("COMMIT"))
            except StoreFullError:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                self._local.after = []
                raise
            after, self._local.after = self._local.after, []
            for fn in after:
                fn()

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` once this thread's open transaction commits (dropped on rollback); now if none."""
        if self.connection().in_transaction:
            self._local.after.append(fn)
        else:
            fn()

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        conn = self.connection()
        return self._retry(lambda: conn.execute(sql, params).fetchall())

    def query_one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: tuple | dict = ()) -> Any:
        row = self.query_one(sql, params)
        return None if row is None else row[0]

    def update_row(
        self, table: str, row_id: str, fields: dict[str, Any], json_columns: tuple[str, ...] = ()
    ) -> None:
        """``UPDATE table SET fields WHERE id = row_id``; ``json_columns`` are stored as JSON text.

        ``table`` and the field names come from the repositories, never from a request.
        """
        values = {k: json.dumps(v) if k in json_columns else v for k, v in fields.items()}
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.transaction() as conn:
            conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?", (*values.values(), row_id))

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass
            self._all.clear()
        self._local = threading.local()

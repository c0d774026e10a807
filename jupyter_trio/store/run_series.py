"""The run table's series summaries: each run's tracked series folded into count/last/min/max as the
points arrive, so a query over thousands of runs never reads their points (runs in: server).

``fold`` reads only the bytes a run's ``metrics/*.trk`` files grew by since the offsets kept in
``run_series_files`` and writes the new aggregates and offsets in one transaction: a summary is always the
exact fold of the bytes before its offsets, whichever server wrote it last, and survives restarts. A run
that ended a while ago (``SETTLE_S``: a remote job's last points may still be ingested) is folded one
last time and marked final; ``pending`` lists the runs that are not.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from .. import _trackfile
from ..domain import SeriesSummary
from ..vocabulary import ACTIVE
from .db import Database
from .paths import WorkspaceLayout

SETTLE_S = 10.0  # a run ended this long ago gets its last fold
NAMES_TTL_S = 2.0  # how long the list of series names is kept
READ_CHUNK = 8 << 20  # bytes of a metrics file decoded at once (bounded memory for huge files)
Key = tuple[str, int]


class _Fold:
    """One series' aggregates while points are folded in."""

    __slots__ = ("count", "last", "last_step", "last_time", "min", "max")

    def __init__(self, row: dict | None = None):
        row = row or {}
        self.count: int = row.get("count", 0)
        self.last: float | None = row.get("last")
        self.last_step: int | None = row.get("last_step")
        self.last_time: float | None = row.get("last_time")
        self.min: float | None = row.get("min")
        self.max: float | None = row.get("max")

    def add(self, steps: list[int], values: list[float], times: list[float]) -> None:
        self.count += len(steps)
        top = max(steps)
        # the last point: the greatest step, the latest written among equal steps (a writer's block is in
        # the order it tracked, so that is nearly always the block's last point)
        i = (
            len(steps) - 1
            if steps[-1] == top
            else max((j for j in range(len(steps)) if steps[j] == top), key=lambda j: (times[j], j))
        )
        if self.last_step is None or (top, times[i]) >= (self.last_step, self.last_time or 0.0):
            self.last, self.last_step, self.last_time = values[i], top, times[i]
        finite = [v for v in values if not math.isnan(v)]
        if finite:
            low, high = min(finite), max(finite)
            self.min = low if self.min is None else min(self.min, low)
            self.max = high if self.max is None else max(self.max, high)


class RunSeriesRepository:
    def __init__(self, db: Database, layout: WorkspaceLayout):
        self.db = db
        self.layout = layout
        self._names: tuple[float, list[str]] | None = None  # (when read, the names): series_names' cache

    def pending(self) -> list[tuple[Key, str, float | None]]:
        """Runs that started and are not summed up for good: (key, status, ended_at)."""
        rows = self.db.query(  # a run gets its unsettled summary row when it starts (a trigger, v13)
            "SELECT s.task_id, s.run_index, r.status, r.ended_at FROM run_summaries s"
            " JOIN runs r ON r.task_id = s.task_id AND r.run_index = s.run_index WHERE s.final = 0"
        )
        return [((r["task_id"], r["run_index"]), r["status"], r["ended_at"]) for r in rows]

    def fold(self, key: Key, status: str, ended_at: float | None) -> None:
        """Fold what the run's metrics files gained since the last fold into its summaries. Offsets and
        aggregates are read and written in one write transaction: two servers folding the same run never
        count a byte twice."""
        folder = self.layout.run_dir(*key) / "metrics"
        files = sorted(folder.glob(f"*{_trackfile.SUFFIX}")) if folder.is_dir() else []
        final = status not in ACTIVE and ended_at is not None and time.time() - ended_at > SETTLE_S
        with self.db.transaction() as conn:
            offsets = {
                r["file"]: r["offset"]
                for r in conn.execute(
                    "SELECT file, offset FROM run_series_files WHERE task_id = ? AND run_index = ?", key
                )
            }
            known = {
                r["series"]: dict(r)
                for r in conn.execute(
                    "SELECT series, count, last, last_step, last_time, min, max FROM run_series"
                    " WHERE task_id = ? AND run_index = ?",
                    key,
                )
            }
            folds: dict[str, _Fold] = {}
            grown: dict[str, int] = {}
            for path in files:
                start = offsets.get(path.name, 0)
                end = _read(path, start, folds, known)
                if end != start:
                    grown[path.name] = end
            if set(folds) - set(known):
                self._names = None  # a series no run of this one had: maybe new to the table too
            for name, fold in folds.items():
                conn.execute(
                    "INSERT INTO run_series (task_id, run_index, series, count, last, last_step, last_time,"
                    " min, max) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task_id, run_index, series)"
                    " DO UPDATE SET count = excluded.count, last = excluded.last,"
                    " last_step = excluded.last_step, last_time = excluded.last_time, min = excluded.min,"
                    " max = excluded.max",
                    (*key, name, fold.count, fold.last, fold.last_step, fold.last_time, fold.min, fold.max),
                )
            for name, offset in grown.items():
                conn.execute(
                    "INSERT INTO run_series_files (task_id, run_index, file, offset) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (task_id, run_index, file) DO UPDATE SET offset = excluded.offset",
                    (*key, name, offset),
                )
            conn.execute(
                "INSERT INTO run_summaries (task_id, run_index, final, summarized_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (task_id, run_index) DO UPDATE SET final = excluded.final,"
                " summarized_at = excluded.summarized_at",
                (*key, int(final), time.time()),
            )

    def summaries(self, keys: list[Key]) -> dict[Key, list[SeriesSummary]]:
        """The series summaries of these runs."""
        out: dict[Key, list[SeriesSummary]] = {key: [] for key in keys}
        for chunk in range(0, len(keys), 400):  # SQLite's bound-parameter limit
            part = keys[chunk : chunk + 400]
            where = " OR ".join("(task_id = ? AND run_index = ?)" for _ in part)
            rows = self.db.query(
                f"SELECT task_id, run_index, series, count, last, last_step, min, max FROM run_series"
                f" WHERE {where} ORDER BY series",
                tuple(v for key in part for v in key),
            )
            for r in rows:
                out[(r["task_id"], r["run_index"])].append(
                    SeriesSummary(r["series"], r["count"], r["last"], r["last_step"], r["min"], r["max"])
                )
        return out

    def series_names(self) -> list[str]:
        """Every series name some run tracked (an index-only scan, kept ``NAMES_TTL_S``; a fold that adds a
        series here forgets it at once, another server's after that long)."""
        now = time.monotonic()
        if self._names is not None and now - self._names[0] < NAMES_TTL_S:
            return self._names[1]
        names = [r[0] for r in self.db.query("SELECT DISTINCT series FROM run_series ORDER BY series")]
        self._names = (now, names)
        return names


def _read(path: Path, start: int, folds: dict[str, _Fold], known: dict[str, dict]) -> int:
    """Fold the whole blocks of ``path`` after ``start``; the offset after the last one."""
    try:
        fh = open(path, "rb")  # noqa: SIM115  (closed by the with below; a vanished file is no error)
    except OSError:
        return start
    with fh:
        fh.seek(start)
        pos = start
        while True:
            data = fh.read(READ_CHUNK)
            if not data:
                return pos
            blocks, used, _skipped = _trackfile.decode(data)
            if used == 0 and len(data) == READ_CHUNK:  # one block bigger than a chunk: read it whole
                data += fh.read()
                blocks, used, _skipped = _trackfile.decode(data)
            if used == 0:  # a half-written tail: the writer is not done with it
                return pos
            for name, steps, values, times in blocks:
                if steps:
                    fold = folds.get(name)
                    if fold is None:
                        fold = folds[name] = _Fold(known.get(name))
                    fold.add(steps, values, times)
            pos += used
            fh.seek(pos)

"""The run table (issue 31): every run of the workspace with its parameters and series aggregates,
filtered by the query language (``run_query.py``), sorted and paged in SQL (``store/run_table.py``)
(runs in: server).

Before a query, the runs whose summaries are not final (running, or ended a moment ago) get the points
they tracked since the last look folded in (``store/run_series.py``): the aggregates are current without
reading any run's points twice.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator

from ..domain import ColumnRef, Comparison, RunTableQuery
from ..store import Store
from ..store.run_table import RunTablePage, spreadsheet_safe
from .run_query import parse_column, parse_columns, parse_where

log = logging.getLogger(__name__)
MAX_LIMIT = 10_000
# pyruns's export columns (pyruns/core/report.py), then ours: the run table's column each one is
PYRUNS_EXPORT = (
    ("name", "task"),
    ("status", "status"),
    ("run", "run"),
    ("start_time", "started_at"),
    ("finish_time", "ended_at"),
    ("duration_seconds", "duration"),
    ("exit_code", "exit_code"),
    ("pid", "pid"),
)


class RunTableService:
    def __init__(self, store: Store):
        self.store = store

    def refresh(self) -> int:
        """Fold new points of every run that is not summed up for good; how many runs were looked at."""
        pending = self.store.run_series.pending()
        for key, status, ended_at in pending:
            try:
                self.store.run_series.fold(key, status, ended_at)
            except OSError as exc:  # an unreadable run folder: its summary waits for the next look
                log.warning("could not summarise run %s/%s: %s", *key, exc)
        return len(pending)

    def page(
        self,
        where: str = "",
        columns: str = "",
        sort: str = "",
        descending: bool = True,
        limit: int = 100,
        offset: int = 0,
    ) -> RunTablePage:
        query = RunTableQuery(
            where=parse_where(where),
            columns=parse_columns(columns),
            sort=parse_column(sort) if sort.strip() else None,
            descending=descending,
            limit=limit,
            offset=offset,
        )
        self.refresh()
        return self.store.run_table.page(query)

    def csv(
        self, where: str = "", columns: str = "", sort: str = "", descending: bool = True
    ) -> Iterator[str]:
        """Every matching run as CSV lines (header first): the columns of the table, or ``columns``."""
        page = self.page(where, columns, sort, descending, limit=-1, offset=0)
        return self.store.run_table.stream_csv(page)

    def tasks_csv(self, task_ids: list[str]) -> str:
        """pyruns's ``POST /tasks/export/csv``: one row per run of these tasks, in their order, with
        pyruns's columns first (name, status, run, start_time, finish_time, duration_seconds, exit_code,
        pid), then each parameter and each series' last/min/max/best."""
        self.refresh()
        where = Comparison(ColumnRef(("task_id",)), "in", tuple(task_ids))
        page = self.store.run_table.page(RunTableQuery(where=where, limit=-1))
        order = {task_id: i for i, task_id in enumerate(task_ids)}
        rows = sorted(page.rows, key=lambda r: (order[str(r["task_id"])], r["run"]))
        ours = [c.name for c in page.columns if c.kind in ("param", "metric")]
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([name for name, _ in PYRUNS_EXPORT] + [str(spreadsheet_safe(n)) for n in ours])
        for row in rows:
            writer.writerow(
                [spreadsheet_safe(row.get(column)) for _, column in PYRUNS_EXPORT]
                + [spreadsheet_safe(row.get(name)) for name in ours]
            )
        return buffer.getvalue()

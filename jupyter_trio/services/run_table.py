"""The run table (issue 31): every run of the workspace with its parameters and series aggregates,
filtered by the query language (``run_query.py``), sorted and paged in SQL (``store/run_table.py``)
(runs in: server).

Before a query, the runs whose summaries are not final (running, or ended a moment ago) get the points
they tracked since the last look folded in (``store/run_series.py``): the aggregates are current without
reading any run's points twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from ..domain import RunTableQuery
from ..store import Store
from ..store.run_table import RunTablePage
from .run_query import parse_column, parse_columns, parse_where

log = logging.getLogger(__name__)
MAX_LIMIT = 10_000


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

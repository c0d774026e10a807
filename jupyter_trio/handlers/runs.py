"""The run table (native dialect): every run with its parameters and series aggregates, queried
(``GET /trio/api/runs``); see services/run_table.py."""

from __future__ import annotations

import asyncio

from ..schemas.runs import RunTableParams, RunTableReply
from .base import TrioHandler, operation


class RunTableHandler(TrioHandler):
    @operation(
        "Runs as a table: filtered by a query, sorted by any column, paged; format=csv for every match",
        query=RunTableParams,
        response=RunTableReply,
        tag="runs",
    )
    async def get(self) -> None:
        q = self.parse_query(RunTableParams)
        descending = q.order == "desc"
        if q.format == "csv":
            lines = await asyncio.to_thread(self.trio.run_table.csv, q.where, q.columns, q.sort, descending)
            csv_type = "text/csv; charset=utf-8"
            self.set_header("Content-Type", csv_type)
            self.set_header("Content-Disposition", 'attachment; filename="runs.csv"')
            for i, line in enumerate(lines):
                self.write(line)
                if i % 1000 == 999:
                    await self.flush()
            self.finish(set_content_type=csv_type)  # APIHandler.finish would say JSON
            return
        page = await asyncio.to_thread(
            self.trio.run_table.page, q.where, q.columns, q.sort, descending, q.limit, q.offset
        )
        self.reply(RunTableReply.of(page, q.offset, q.limit))

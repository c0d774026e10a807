"""The run table's wire shapes (``GET /trio/api/runs``): a page of rows and the columns they have."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..store.run_table import RunTablePage
from .native import Request


class RunTableParams(Request):
    where: str = Field(
        "",
        max_length=4000,
        description="the query language, e.g. "
        '`lr < 1e-3 and acc.max > 0.9 and status = completed and task ~ "resnet"`',
    )
    columns: str = Field("", max_length=20_000, description="names, comma-separated (default: every column)")
    sort: str = Field("", max_length=1000, description="a column name (default: newest run first)")
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(100, ge=1, le=10_000)
    offset: int = Field(0, ge=0, le=10_000_000)
    format: Literal["json", "csv"] = "json"


class RunColumn(BaseModel):
    name: str
    kind: Literal["attribute", "param", "metric"]
    type: Literal["number", "string", "bool"]


class RunTableReply(BaseModel):
    runs: list[dict[str, float | int | str | bool | None]] = Field(
        description="one row a run: task, task_id, run, then each column by its name (attribute, dotted "
        "parameter, <series>.<last|min|max|best|count|last_step> or <series>.at(k))"
    )
    total: int
    offset: int
    limit: int
    columns: list[RunColumn]

    @classmethod
    def of(cls, page: RunTablePage, offset: int, limit: int) -> RunTableReply:
        return cls.model_construct(
            runs=page.rows,
            total=page.total,
            offset=offset,
            limit=limit,
            columns=[RunColumn.model_construct(name=c.name, kind=c.kind, type=c.type) for c in page.columns],
        )

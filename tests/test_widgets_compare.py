"""The compare panel against a live server (issue 31): four script tasks of one batch (two learning rates
by two optimisers, one batch size) track two series; the panel's query, its table and pages against the
run table's REST reply, a refused query's message with its position, a selection across pages and "only
what differs", the parallel coordinates' lines, the scatter's points, the metrics overlay, live updates
and its words in Chinese. Panels use a synchronous client, so the tests drive them from a worker thread
while the server runs on the test's event loop (as tests/test_widgets.py)."""

from __future__ import annotations

import asyncio
import math
import time

import numpy as np
import pytest

from jupyter_trio.widgets import ComparePanel
from jupyter_trio.widgets.runmath import MISSING_COLOR, VIRIDIS

SCRIPT = """import jupyter_trio as trio
cfg = trio.read()
for step in range(4):
    trio.track('acc', 1.0 - cfg['lr'] * (4 - step) - (0.05 if cfg['opt'] == 'sgd' else 0.0), step=step)
    trio.track('loss', cfg['lr'] * (4 - step), step=step)
"""
BATCH = {"name_prefix": "cmp", "template_value": {"lr": "0.1 | 0.01", "opt": "adam | sgd", "batch": 32}}
NAMES = [f"cmp_00{i}" for i in range(1, 5)]


def run(fn, *args, **kwargs):
    return asyncio.to_thread(fn, *args, **kwargs)


async def four_runs(api, script_workspace, wait_task) -> list[dict]:
    """The batch, run to completion; its rows as the REST route gives them."""
    await script_workspace(SCRIPT, "lr: 0.1\nopt: adam\nbatch: 32\n")
    code, created = await api("POST", "trio/api/generator/create", {**BATCH, "run": True})
    assert code == 201, created
    assert [t["name"] for t in created["items"]] == NAMES
    for name in NAMES:
        assert (await wait_task(name, "completed", "failed"))["status"] == "completed", name
    code, reply = await api("GET", "trio/api/runs", params={"where": "task ~ cmp", "limit": "100"})
    assert code == 200 and reply["total"] == 4, reply
    return reply["runs"]


def body_rows(html: str) -> list[str]:
    return html.split("<tbody>", 1)[1].split("<tr")[1:]


def headers(html: str) -> list[str]:
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    return [cell.split(">", 1)[1].split("</th>", 1)[0] for cell in head.split("<th")[1:]]


def by_task(rows: list[dict]) -> dict[str, dict]:
    return {r["task"]: r for r in rows}


async def test_query_table_pages_selection_and_charts(client, api, script_workspace, wait_task):
    rest = by_task(await four_runs(api, script_workspace, wait_task))
    assert {(r["lr"], r["opt"], r["batch"]) for r in rest.values()} == {
        (0.1, "adam", 32),
        (0.1, "sgd", 32),
        (0.01, "adam", 32),
        (0.01, "sgd", 32),
    }
    c = await run(client)
    panel = await run(ComparePanel, "task ~ cmp", c, page_size=3, sort="task", order="asc", live=False)
    assert panel.trans.locale == "en" and panel.error.value == "" and panel.query_error.value == ""

    # the table: the first page of three, sorted by task on the server, then the second page
    assert [r["task"] for r in panel.rows] == NAMES[:3]
    assert len(body_rows(panel.table.value)) == 3 and "runs 1–3 of 4" in panel.page_label.value
    assert panel.previous.disabled and not panel.next.disabled
    shown = headers(panel.table.value)
    assert shown[:5] == ["task ▲", "run", "status", "duration", "lr"]
    assert {"opt", "batch", "acc.last", "loss.last"} <= set(shown) and "acc.max" not in shown
    for name in NAMES[:3]:
        assert f">{name}<" in panel.table.value
    assert ">completed<" in panel.table.value and f">{NAMES[3]}<" not in panel.table.value
    await run(panel.next.click)
    assert [r["task"] for r in panel.rows] == NAMES[3:] and "runs 4–4 of 4" in panel.page_label.value
    assert panel.next.disabled and not panel.previous.disabled
    await run(panel.previous.click)
    assert panel.offset == 0 and [r["task"] for r in panel.rows] == NAMES[:3]

    # a query typed in the box: the rows the route gives for it
    await run(setattr, panel.query, "value", "task ~ cmp and lr < 0.05")
    assert panel.where == "task ~ cmp and lr < 0.05" and panel.reply["total"] == 2
    assert sorted(r["task"] for r in panel.rows) == sorted(n for n, r in rest.items() if r["lr"] < 0.05)
    # sorted by a metric on the server, descending
    await run(setattr, panel.sort, "value", "acc.last")
    await run(setattr, panel.order, "value", "desc")
    values = [r["acc.last"] for r in panel.rows]
    assert values == sorted(values, reverse=True) and values[0] > values[1]
    assert "acc.last ▼" in headers(panel.table.value)

    # a refused query: the server's message, naming the position, under the box; the page stays
    code, refused = await api("GET", "trio/api/runs", params={"where": "lr < and status = completed"})
    assert code == 422 and "at position 5" in refused["error"]["message"], refused
    before = list(panel.rows)
    await run(setattr, panel.query, "value", "lr < and status = completed")
    assert "trio-error" in panel.query_error.value and "at position 5" in panel.query_error.value
    assert "Cannot read the runs: the request was not valid" in panel.query_error.value
    assert panel.where == "task ~ cmp and lr < 0.05" and panel.rows == before
    assert await run(panel.apply, "task ~ cmp") and panel.query_error.value == ""
    assert panel.query.value == "task ~ cmp" and panel.reply["total"] == 4

    # a selection across pages: two runs of one learning rate, then one of the other page
    await run(setattr, panel.sort, "value", "task")
    await run(setattr, panel.order, "value", "asc")
    page = by_task(panel.rows)
    same_lr = [n for n in NAMES[:3] if page[n]["lr"] == page[NAMES[0]]["lr"]]
    assert len(same_lr) == 2 and page[same_lr[0]]["opt"] != page[same_lr[1]]["opt"]
    keys = tuple(f"{page[n]['task_id']}#{page[n]['run']}" for n in same_lr)
    await run(setattr, panel.select, "value", keys)
    assert sorted(r["task"] for r in panel.selection.values()) == same_lr
    assert panel.differing == ["opt"] and "2 selected" in panel.selected_label.value
    await run(setattr, panel.only_differs, "value", True)
    assert "opt" in headers(panel.table.value) and "lr" not in headers(panel.table.value)
    assert "batch" not in headers(panel.table.value) and "acc.last" in headers(panel.table.value)
    assert len(body_rows(panel.selected_view.value)) == 2
    assert "opt" in headers(panel.selected_view.value) and "lr" not in headers(panel.selected_view.value)
    assert panel.table.value.count("class='trio-selected'") == 2
    await run(panel.next.click)  # the fourth run: the other learning rate
    other = panel.rows[0]
    assert other["lr"] != page[same_lr[0]]["lr"]
    await run(panel.select_runs, other["task"])
    assert len(panel.selection) == 3 and panel.differing == ["lr", "opt"]
    assert {"lr", "opt"} <= set(headers(panel.selected_view.value))
    assert "batch" not in headers(panel.selected_view.value)
    assert len(body_rows(panel.selected_view.value)) == 3
    await run(setattr, panel.only_differs, "value", False)
    assert "batch" in headers(panel.selected_view.value) and "batch" in headers(panel.table.value)

    # the metrics overlay: the selected runs' chosen series (loss), one line each
    assert sorted(panel.overlay.runs) == sorted((n, 1) for n in [*same_lr, other["task"]])
    assert list(panel.overlay.series.options) == ["acc", "loss"]
    await run(setattr, panel.overlay.series, "value", ("loss",))
    lines = {m.labels[0]: m for m in panel.overlay.figure.marks}
    assert sorted(lines) == sorted(f"{n}#1 loss" for n in [*same_lr, other["task"]])
    for name, mark in lines.items():
        lr = rest[name.split("#")[0]]["lr"]
        assert list(mark.y) == pytest.approx([lr * (4 - s) for s in range(4)])
    assert panel.overlay_note.value == ""

    # the parallel coordinates: every run of the page's first page, lines over lr, opt and acc.best
    await run(panel.previous.click)
    assert panel.axes_picker.value == ("lr", "opt", "acc.best") and panel.color.value == "acc.best"
    ys = np.asarray(panel.pc_lines.y, dtype=float)
    assert ys.shape == (3, 3) and list(panel.pc_lines.x) == [0, 1, 2]
    for row, line in zip(panel.rows, ys, strict=True):
        assert line[0] == (1.0 if row["lr"] == 0.1 else 0.0)  # a linear axis: 0.01 bottom, 0.1 top
        assert line[1] == (0.25 if row["opt"] == "adam" else 0.75)  # categories at (i + 0.5) / n
        best = [r["acc.best"] for r in panel.rows]
        assert line[2] == pytest.approx((row["acc.best"] - min(best)) / (max(best) - min(best)))
    colors = list(panel.pc_lines.colors)
    best = [r["acc.best"] for r in panel.rows]
    assert colors[best.index(max(best))] == VIRIDIS[-1] and colors[best.index(min(best))] == VIRIDIS[0]
    opacities = list(panel.pc_lines.opacities)
    assert [o == 1.0 for o in opacities] == [r["task"] in same_lr for r in panel.rows]
    # an axis whose values are all missing leaves gaps, and colouring by a column without values is grey
    await run(setattr, panel.axes_picker, "value", ("lr", "sweep"))
    ys = np.asarray(panel.pc_lines.y, dtype=float)
    assert ys.shape == (3, 2) and all(math.isnan(v) for v in ys[:, 1])
    await run(setattr, panel.color, "value", "")
    assert set(panel.pc_lines.colors) == {MISSING_COLOR}

    # the scatter: the chosen columns' values of the page's rows, the selected ones again in red
    await run(setattr, panel.scatter_x, "value", "lr")
    await run(setattr, panel.scatter_y, "value", "acc.last")
    pairs = sorted(zip(panel.points.x, panel.points.y, strict=True))
    assert pairs == sorted((r["lr"], r["acc.last"]) for r in panel.rows)
    assert pairs == sorted((rest[r["task"]]["lr"], rest[r["task"]]["acc.last"]) for r in panel.rows)
    chosen = sorted(zip(panel.points_selected.x, panel.points_selected.y, strict=True))
    assert chosen == sorted((rest[n]["lr"], rest[n]["acc.last"]) for n in same_lr)
    assert panel.scatter_axes[0].label == "lr" and panel.scatter_axes[1].label == "acc.last"
    await run(setattr, panel.scatter_y, "value", "loss.max")
    assert sorted(panel.points.y) == sorted(rest[r["task"]]["loss.max"] for r in panel.rows)

    await run(panel.clear_selection)
    assert panel.selection == {} and "0 selected" in panel.selected_label.value
    assert panel.selected_view.value == "" and "select runs in the table" in panel.overlay_note.value
    assert sorted(panel.overlay.runs) == sorted((r["task"], 1) for r in panel.rows)
    await run(panel.close)


async def test_live_updates_and_chinese(client, api, script_workspace, wait_task, monkeypatch):
    await script_workspace(SCRIPT, "lr: 0.1\nopt: adam\nbatch: 32\n")
    monkeypatch.setenv("TRIO_LOCALE", "zh_CN")
    panel = await run(ComparePanel, "task ~ late", await run(client))  # live: nothing matches yet
    assert panel.trans.locale == "zh_CN" and panel.rows == []
    assert "没有匹配查询的运行" in panel.page_label.value
    assert panel.query.description == "筛选条件" and panel.apply_button.description == "应用"
    assert panel.only_differs.description == "仅显示差异" and panel.sort.description == "排序依据"
    assert panel.sort.options[0] == ("（无）", "") and panel.scatter_x.description == "x 轴"

    code, created = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": "late", "template_value": {"lr": 0.5, "opt": "sgd"}, "run": True},
    )
    assert code == 201, created
    await wait_task("late_001", "completed", "failed")
    deadline = time.monotonic() + 30
    while not (panel.rows and panel.rows[0]["status"] == "completed"):  # no refresh asked of the panel
        assert time.monotonic() < deadline, panel.rows
        panel.live.heartbeat._handle(None, {"type": "alive"}, [])
        await asyncio.sleep(0.1)
    assert panel.rows[0]["task"] == "late_001" and panel.rows[0]["lr"] == 0.5
    assert ">late_001<" in panel.table.value and ">已完成<" in panel.table.value
    assert "运行 1–1，共 1 个" in panel.page_label.value

    await run(setattr, panel.query, "value", "lr <")
    assert "无法读取运行：请求无效（where: at position 4" in panel.query_error.value
    await run(panel.close)
    for _ in range(50):
        if not panel.live.running:
            break
        await asyncio.sleep(0.1)
    assert not panel.live.running

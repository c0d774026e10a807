"""The sweep panel against a live server with real Optuna: the header, the trials table, the optimisation
history, the importances, pause / stop from its buttons, live updates that stop when the sweep ends, and
its words in Chinese. Panels use a synchronous client, so the tests drive them from a worker thread while
the server runs on the test's event loop (as tests/test_widgets.py)."""

from __future__ import annotations

import asyncio
import time

import pytest
from test_sweeps import wait_sweep

from jupyter_trio.widgets import SweepPanel

pytest.importorskip("optuna")

SCRIPT = """import jupyter_trio as trio
cfg = trio.read()
for s in range(3):
    trio.track('loss', (cfg['x']-0.3)**2 + 1/(s+1), step=s)
"""

SLOW = """import time
import jupyter_trio as trio
cfg = trio.read()
for s in range(3):
    trio.track('loss', (cfg['x']-0.3)**2 + 1/(s+1), step=s)
    time.sleep(0.5)
"""


def run(fn, *args, **kwargs):
    return asyncio.to_thread(fn, *args, **kwargs)


async def start_sweep(api, jp_root_dir, name: str, source: str, n_trials: int, parallel: int) -> dict:
    (jp_root_dir / f"{name}.py").write_text(source)
    code, sweep = await api(
        "POST",
        "trio/api/sweeps",
        {
            "name": name,
            "script_path": f"{name}.py",
            "space": {"x": "uniform(0, 1)"},
            "objective": {"metric": "loss"},
            "n_trials": n_trials,
            "parallel": parallel,
            "pruner": "none",
        },
    )
    assert code == 201, sweep
    return sweep


async def until(panel: SweepPanel, check, timeout: float = 60.0) -> None:
    """Wait for the live panel (no manual refresh) to show what ``check`` wants; pings as a view would."""
    deadline = time.monotonic() + timeout
    while not (panel.sweep is not None and check(panel.sweep)):
        assert time.monotonic() < deadline, panel.sweep
        panel.live.heartbeat._handle(None, {"type": "alive"}, [])
        await asyncio.sleep(0.1)


def body_rows(html: str) -> int:
    return html.split("<tbody>", 1)[1].count("<tr>")


async def test_sweep_panel_shows_a_finished_sweep_in_english_and_chinese(
    client, api, jp_root_dir, monkeypatch
):
    await start_sweep(api, jp_root_dir, "sq", SCRIPT, n_trials=4, parallel=2)
    sweep = await wait_sweep(api, "sq", "completed", "failed", "stopped")
    assert sweep["state"] == "completed", sweep
    trials = sorted(sweep["trials"], key=lambda t: t["number"])
    assert len(trials) == 4 and all(t["state"] == "complete" for t in trials), trials
    code, found = await api("GET", "trio/api/sweeps/sq/importances")
    assert code == 200, found

    c = await run(client)
    panel = await run(SweepPanel, "sq", c)  # live, but the sweep has ended: nothing to follow
    assert panel.trans.locale == "en" and panel.error.value == ""
    # the table: one row per trial, its state label and value
    assert body_rows(panel.table.value) == 4
    assert panel.rows == [
        [t["number"], "complete", f"{t['value']:.6g}", f"x={t['params']['x']:.6g}", t["task"]] for t in trials
    ]
    for t in trials:
        assert f">{t['task']}<" in panel.table.value and f">{t['value']:.6g}<" in panel.table.value
    # the header: state, budget, the API's best
    best = sweep["best"]
    assert best["value"] == min(t["value"] for t in trials)
    assert "completed" in panel.header.value and "trials done: 4 / 4" in panel.header.value
    assert f"best: {best['value']:.6g} (trial {best['number']})" in panel.header.value
    assert f"x={best['params']['x']:.6g}" in panel.header.value
    # the history: 4 points by trial number, and a best-so-far line that never gets worse
    assert list(panel.points.x) == [float(t["number"]) for t in trials]
    assert list(panel.points.y) == pytest.approx([t["value"] for t in trials])
    line = list(panel.best_line.y)
    assert len(line) == 4 and all(b <= a for a, b in zip(line, line[1:], strict=False))
    assert line[0] == pytest.approx(trials[0]["value"]) and line[-1] == pytest.approx(best["value"])
    assert panel.axes[1].label == "loss" and panel.axes[0].label == "trial"
    # the importances: the searched parameter, as the API says
    assert list(panel.importances) == list(found["importances"]) == ["x"]
    assert "parameter importances" in panel.importance_view.value and ">x<" in panel.importance_view.value
    # an ended sweep offers no pause nor stop, and is not followed
    assert panel.buttons["pause"].disabled and panel.buttons["stop"].disabled
    assert panel.ended
    for _ in range(20):
        if not panel.live.running:
            break
        await asyncio.sleep(0.1)
    assert not panel.live.running
    await run(panel.close)

    monkeypatch.setenv("TRIO_LOCALE", "zh_CN")
    zh = await run(SweepPanel, "sq", await run(client), live=False)
    assert zh.trans.locale == "zh_CN"
    assert [b.description for b in zh.buttons.values()] == ["暂停", "恢复", "停止"]
    assert ">已完成<" in zh.table.value and ">complete<" not in zh.table.value
    assert ">试验<" in zh.table.value and ">状态<" in zh.table.value and ">参数<" in zh.table.value
    assert "超参数搜索 sq" in zh.header.value and "已完成试验：4 / 4" in zh.header.value
    assert f"最优值：{best['value']:.6g}（试验 {best['number']}）" in zh.header.value
    assert "参数重要性" in zh.importance_view.value
    assert zh.axes[0].label == "试验" and zh.figure.title == "优化历史"
    assert zh.points.labels == ["试验结果"] and zh.best_line.labels == ["当前最优"]
    await run(zh.close)


async def test_sweep_panel_pauses_follows_and_stops_a_running_sweep(client, api, jp_root_dir):
    await start_sweep(api, jp_root_dir, "slow", SLOW, n_trials=4, parallel=1)
    c = await run(client)
    panel = await run(SweepPanel, "slow", c)  # live: follows the sweep's events
    await until(panel, lambda s: any(t["state"] == "running" for t in s["trials"]))
    assert panel.sweep["state"] == "running" and not panel.buttons["pause"].disabled
    assert "no complete trial yet" in panel.header.value

    sent: list[tuple[str, str]] = []
    call = c.call

    def recording(method, path, **kwargs):
        sent.append((method, path))
        return call(method, path, **kwargs)

    c.call = recording
    await run(panel.buttons["pause"].click)
    assert ("POST", "trio/api/sweeps/slow/pause") in sent, sent
    assert panel.error.value == ""
    code, on_server = await api("GET", "trio/api/sweeps/slow")
    assert code == 200 and on_server["state"] == "paused", on_server
    assert panel.sweep["state"] == "paused" and "paused" in panel.header.value
    assert panel.buttons["pause"].disabled and not panel.buttons["resume"].disabled

    # paused: the running trial finishes and the live panel shows it, with no refresh asked of it
    await until(panel, lambda s: s["trials"] and all(t["state"] != "running" for t in s["trials"]))
    assert any(t["state"] == "complete" for t in panel.sweep["trials"])
    assert len(panel.points.x) >= 1 and "best: " in panel.header.value
    assert panel.live.running  # a paused sweep may resume: still followed

    await run(panel.buttons["stop"].click)
    assert ("POST", "trio/api/sweeps/slow/stop") in sent, sent
    assert panel.sweep["state"] == "stopped" and panel.ended
    for _ in range(50):
        if not panel.live.running:
            break
        await asyncio.sleep(0.1)
    assert not panel.live.running  # the sweep ended: no thread, no socket
    await run(panel.buttons["pause"].click)  # the server refuses: its word is shown
    assert "trio-error" in panel.error.value
    await run(panel.close)

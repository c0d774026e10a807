"""The panels' widget models against a live server: state after actions, errors shown, live updates that
stop, no thread left behind. (The real-browser test is test_browser.py.) Panels use a synchronous client,
so the tests drive them from a worker thread while the server runs on the test's event loop."""

from __future__ import annotations

import asyncio
import platform
import threading
import time

import pytest

from jupyter_trio.widgets import CheckpointPanel, DatasetPanel, LogPanel, MetricsPanel, TaskPanel, dashboard

from dataset_fixtures import TINY_TRAIN, load_demo, make

SCRIPT = """
import time
import jupyter_trio as trio
cfg = trio.load()
for i in range(int(cfg.steps)):
    print(f"line {i} lr={cfg.lr}", flush=True)
    trio.track(loss=cfg.lr / (i + 1))
    time.sleep(0.01)
"""


@pytest.fixture
def trio_config():
    return {"demo_images": 40}


def run(fn, *args, **kwargs):
    return asyncio.to_thread(fn, *args, **kwargs)


async def test_task_panel_batch_actions_and_errors(client, script_workspace):
    await script_workspace(SCRIPT, "lr: 0.1\nsteps: 5\n")
    c = await run(client)
    panel = await run(TaskPanel, c, live=False)
    # no JupyterLab on this server, so no language setting: English (tests/test_widgets_i18n.py: Chinese)
    assert [b.description for b in panel.buttons.values()] == [
        "start",
        "stop",
        "resume",
        "rerun",
        "cancel",
        "pin",
    ]
    panel.batch_yaml.value = "lr: 0.1 | 0.2\nsteps: 5\n"
    panel.batch_prefix.value = "sweep"
    preview = await run(panel.preview_batch)
    assert preview["count"] == 2 and "2 tasks" in panel.batch_preview.value
    assert "sweep_001" not in panel.table.value  # a preview creates nothing
    await run(panel.create_batch)
    done = await run(panel.wait, "sweep_002", "completed", "failed", timeout=60)
    assert done["status"] == "completed"
    assert "sweep_001" in panel.table.value and "100%" in panel.table.value  # completed runs show 100%
    assert list(panel.selected.options)[:2] == ["sweep_002", "sweep_001"]
    # the selected task's latest run: what it ran (issue 34), as the sidebar's details show it
    await run(setattr, panel.selected, "value", "sweep_001")  # off the loop: it asks the server
    await run(panel.show_provenance)
    shown = panel.provenance.value
    assert "Provenance of run 1" in shown and platform.python_version() in shown and "packages" in shown

    await run(setattr, panel.selected, "value", "sweep_001")  # off the loop: it asks the server
    await run(panel.action(lambda: panel.act("pin")))
    assert next(t for t in panel.tasks if t["name"] == "sweep_001")["pinned"]
    await run(panel.action(lambda: panel.act("rerun")))
    task = await run(panel.wait, "sweep_001", "completed", timeout=60)
    assert task["run_index"] == 2
    await run(
        panel.action(lambda: panel.act("resume"))
    )  # a script task has no checkpoints: the server says so
    assert "trio-error" in panel.error.value and "sweep_001" in panel.error.value
    panel.batch_yaml.value = "lr: [unclosed"
    await run(panel.action(panel.preview_batch))
    assert "not valid YAML" in panel.error.value
    await run(panel.close)


async def test_params_form_from_defaults_with_inline_errors(client, api):
    pytest.importorskip("paddle")
    _, pid = await load_demo(api)
    c = await run(client)
    panel = await run(TaskPanel, c, project_id=pid, live=False)
    panel.model.value = "ResNet18"
    defaults = await run(panel.action(panel.load_defaults))
    assert defaults["model"] == "ResNet18" and "num_epochs" in panel.fields
    widget, _ = panel.fields["num_epochs"]
    widget.value = -3
    assert await run(panel.create_task, False) is None
    assert "num_epochs" in panel.form_message.value and "trio-error" in panel.form_message.value
    widget.value = 1
    task = await run(panel.create_task, False)
    assert task["kind"] == "train" and task["config"]["params"]["model"] == "ResNet18"
    assert task["name"] in panel.table.value
    await run(panel.close)


async def test_metrics_panel_overlays_runs_smooths_and_logs(client, script_workspace, wait_task):
    await script_workspace(SCRIPT, "lr: 1.0\nsteps: 30\n")
    c = await run(client)
    created = await run(
        c.call,
        "POST",
        "trio/api/generator/create",
        json={"name_prefix": "m", "template_value": {"lr": "1.0 | 2.0", "steps": 30}, "run": True},
    )
    names = [i["name"] for i in created["items"]]
    for name in names:
        assert (await wait_task(name, "completed", "failed"))["status"] == "completed"
    panel = await run(MetricsPanel, names, c, live=False)
    assert "loss" in panel.series.options and panel.series.value == ("loss",)
    lines = panel.lines()
    assert [name for name, _, _ in lines] == [f"{names[0]} loss", f"{names[1]} loss"]
    assert len(lines[0][1]) == 30 and lines[1][2][0] == pytest.approx(2.0)
    assert len(panel.figure.marks) == 2 and len(panel.figure.marks[0].x) == 30
    raw_last = lines[0][2][-1]
    panel.smoothing.value = 0.9
    assert panel.lines()[0][2][-1] > raw_last  # the EMA lags behind a falling curve
    panel.log_scale.value = True
    assert panel.axes[1].scale is panel.y_log and panel.figure.marks[0].scales["y"] is panel.y_log
    small = await run(MetricsPanel, names[0], c, max_points=8, live=False)
    assert 2 <= len(small.lines()[0][1]) <= 8  # downsampled on the server
    missing = await run(MetricsPanel, ["nope"], c, live=False)
    assert missing.series.options == ()
    newest = await run(MetricsPanel, None, c, live=False)  # no task named: the newest one
    assert newest.runs == [(names[-1], None)]
    for p in (panel, small, missing, newest):
        await run(p.close)


async def test_metrics_panel_downsamples_a_million_points(client, script_workspace, wait_task):
    await script_workspace(
        "import jupyter_trio as trio\nfor i in range(1_000_000):\n    trio.track(loss=1.0 / (i + 1))\n"
    )
    c = await run(client)
    created = await run(c.call, "POST", "trio/api/generator/create", json={"name_prefix": "big", "run": True})
    name = created["items"][0]["name"]
    assert (await wait_task(name, "completed", "failed", timeout=120))["status"] == "completed"
    panel = await run(MetricsPanel, name, c, live=False)
    [(_, steps, values)] = panel.lines()
    assert 2 <= len(steps) <= 2000 and steps[0] == 0 and steps[-1] == 999_999
    assert values.min() == pytest.approx(1e-6)  # the min of each bucket is kept
    await run(panel.close)


async def test_log_panel_follows_the_websocket_then_stops(client, script_workspace, wait_task):
    await script_workspace(SCRIPT, "lr: 0.5\nsteps: 40\n")
    c = await run(client)
    created = await run(
        c.call,
        "POST",
        "trio/api/generator/create",
        json={"name_prefix": "log", "template_value": {"lr": 0.5, "steps": 40}, "run": True},
    )
    name = created["items"][0]["name"]
    panel = await run(LogPanel, name, c)  # live: its thread follows the stream
    deadline = time.monotonic() + 60
    while panel.ended is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert panel.ended == "completed", panel.status.value
    assert [line for line in panel.lines if line.startswith("line ")] == [
        f"line {i} lr=0.5" for i in range(40)
    ]
    assert "line 39" in panel.output.value and "completed" in panel.status.value
    panel.search.value = "line 3"
    assert "line 30" in panel.output.value and "line 29" not in panel.output.value
    panel.follow.value = False
    panel.search.value = ""
    assert "line 29" not in panel.output.value  # paused: the view keeps what it showed
    panel.follow.value = True
    assert "line 29" in panel.output.value
    for _ in range(50):
        if not panel.live.running:
            break
        await asyncio.sleep(0.1)
    assert not panel.live.running  # the run ended: no thread, no socket
    await run(panel.close)


async def test_dataset_panel_import_split_preview(client, jp_root_dir):
    make("detection", jp_root_dir / "boxes", count=12)
    c = await run(client)
    panel = await run(DatasetPanel, c, preview_count=4, live=False)
    panel.name.value, panel.kind.value, panel.path.value = "boxes", "detection", "boxes"
    dataset = await run(panel.action(panel.create_and_import))
    assert dataset["status"] == "imported" and panel.progress.value == 100
    assert "boxes" in panel.table.value and "imported" in panel.table.value
    panel.val.value, panel.test.value = 0.25, 0.25
    await run(panel.action(panel.split))
    assert "split" in panel.table.value
    shown = await run(panel.action(panel.show_preview))
    assert len(shown) == 4 and len(panel.grid.children) == 4
    assert panel.grid.children[0].children[0].value[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(panel.bars.x) and sum(panel.bars.y) >= 12
    panel.name.value, panel.path.value = "escape", "../../etc"
    await run(panel.action(panel.create_and_import))
    assert "trio-error" in panel.error.value
    await run(panel.close)


@pytest.mark.slow
async def test_checkpoint_panel_and_dashboard(client, api, trio_workspace, wait_task):
    pytest.importorskip("paddle")
    _, pid = await load_demo(api)
    c = await run(client)
    created = await run(c.create_training_run, pid, params=TINY_TRAIN)
    run_id = created["training_run_id"]
    assert (await run(c.wait_training_run, run_id, 240, 0.2))["status"] == "completed"
    panel = await run(CheckpointPanel, run_id, c, live=False)
    assert set(panel.chosen.options) == {"epoch_1", "epoch_2", "best_model"}
    assert "epoch_2" in panel.table.value and ("KiB" in panel.table.value or "MiB" in panel.table.value)
    panel.chosen.value = "epoch_2"
    href = await run(panel.action(panel.download_link))
    assert "signature=" in href and "trio-download" in panel.link.value
    panel.chosen.value = "best_model"
    image = next((trio_workspace / "datasets").rglob("*.jpg")).read_bytes()
    out = await run(panel.predict, image)
    assert out["result"]["category"] in ("circle", "cross", "square", "triangle")
    assert "trio-prediction" in panel.result.value and panel.picture.value[:4] == b"\x89PNG"
    panel.chosen.value = "epoch_1"
    await run(panel.action(panel.delete))
    assert "epoch_1" not in panel.chosen.options
    await run(panel.action(panel.predict_upload))
    assert "upload an image first" in panel.error.value
    await run(panel.close)

    # the quick start's last step: an export job, the newest task — the dashboard still follows the run
    code, job = await api("POST", f"trio/api/tasks/{run_id}/jobs/export", {"save_dir": "exports/quick"})
    assert code == 202, job
    board = await run(dashboard, c)
    titles = [board.get_title(i) for i in range(len(board.children))]
    assert titles[:2] == ["Tasks", "Datasets"] and any(t.startswith("Checkpoints") for t in titles)
    assert board.task == run_id and f"Metrics · {run_id}" in titles
    metrics = await run(MetricsPanel, None, c, live=False)
    assert metrics.runs == [(run_id, None)] and "loss" in metrics.series.options  # curves, not an empty chart
    await run(board.close)
    await run(metrics.close)
    await wait_task(job["name"], "completed", "failed")


async def test_panels_leave_no_threads_after_many_open_close_cycles(client, script_workspace):
    await script_workspace(SCRIPT, "lr: 0.1\nsteps: 3\n")
    c = await run(client)
    created = await run(
        c.call,
        "POST",
        "trio/api/generator/create",
        json={"name_prefix": "leak", "template_value": {"lr": 0.1, "steps": 3}, "run": True},
    )
    name = created["items"][0]["name"]
    await asyncio.sleep(0.5)

    def panel_threads() -> list[threading.Thread]:  # each panel's updater (and the log websocket's loop)
        return [t for t in threading.enumerate() if t.name == "trio-panel"]

    assert panel_threads() == []
    for _ in range(15):
        panels = [await run(TaskPanel, c), await run(MetricsPanel, name, c), await run(LogPanel, name, c)]
        assert all(p.live.running or p.live.should_stop() for p in panels)
        for p in panels:
            await run(p.close)
    assert panel_threads() == []  # close() joined them: no thread, no websocket left

    # a panel nobody looks at stops updating by itself after the grace period
    panel = await run(TaskPanel, c)
    panel.live.grace_s = 0.3
    for _ in range(40):
        if not panel.live.running:
            break
        await asyncio.sleep(0.1)
    assert not panel.live.running
    panel.live.heartbeat._handle(None, {"type": "alive"}, [])  # a view appears again: updates resume
    assert panel.live.running
    await run(panel.close)
    assert not panel.live.running


async def test_live_panels_follow_the_events_channel_instead_of_polling(client, script_workspace):
    await script_workspace(SCRIPT, "lr: 0.1\nsteps: 3\n")
    c = await run(client)
    panel = await run(TaskPanel, c)  # live: follows /trio/api/events
    lists: list[float] = []
    call = c.call

    def counting(method, path, **kwargs):
        if method == "GET" and path == "trio/api/tasks":
            lists.append(time.monotonic())
        return call(method, path, **kwargs)

    c.call = counting
    await asyncio.sleep(2.0)
    assert len(lists) <= 1  # at most the follower's first read: nothing changed, nothing asked
    before = len(lists)
    created = await run(
        call,
        "POST",
        "trio/api/generator/create",
        json={"name_prefix": "pushed", "template_value": {"lr": 0.1, "steps": 3}, "run": True},
    )
    name = created["items"][0]["name"]
    for _ in range(100):
        shown = {t["name"]: t["status"] for t in panel.tasks}
        if shown.get(name) == "completed":
            break
        await asyncio.sleep(0.1)
    assert shown.get(name) == "completed", shown
    assert len(lists) > before  # it read the list because the server said something changed
    settled = len(lists)
    await asyncio.sleep(2.0)
    assert len(lists) == settled  # quiet again: no timer asking
    await run(panel.close)

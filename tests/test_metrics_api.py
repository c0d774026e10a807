"""Metrics and records over HTTP, from real jobs started by the runner."""

from __future__ import annotations

import asyncio
import time

TRACKER = """
import sys, time
import jupyter_trio as trio
cfg = trio.load()
trio.record(lr=cfg.lr)
for i in range(cfg.n):
    trio.track(loss=1.0 / (i + 1), acc=i / cfg.n)
    trio.track("train/grad-norm", float(i), step=i * 10)
trio.record(final_loss=1.0 / cfg.n)
print("stamp", time.time(), flush=True)
trio.track(marker=1.0)
time.sleep(cfg.linger)
"""

ENDLESS = """
import itertools, time
import jupyter_trio as trio
for i in itertools.count():
    trio.track(i=i)
    if i == 2000:
        print("ready", flush=True)
    time.sleep(0.0005)
"""


async def test_metrics_index_series_and_records(api, script_workspace, wait_task):
    await script_workspace(TRACKER, "lr: 0.1\nn: 500\nlinger: 0\n")
    _, out = await api("POST", "trio/api/generator/create", {"name_prefix": "m", "run": True})
    name = out["items"][0]["name"]
    await wait_task(name, "completed")
    status, index = await api("GET", f"trio/api/tasks/{name}/metrics")
    assert status == 200
    assert index["series"] == {"acc": 500, "loss": 500, "marker": 1, "train/grad-norm": 500}
    _, loss = await api("GET", f"trio/api/tasks/{name}/metrics/loss")
    assert loss["steps"] == list(range(500)) and loss["values"][1] == 0.5 and len(loss["times"]) == 500
    _, grad = await api("GET", f"trio/api/tasks/{name}/metrics/train/grad-norm", params={"since_step": 4980})
    assert grad["steps"] == [4990] and grad["last_step"] == 4990
    _, small = await api("GET", f"trio/api/tasks/{name}/metrics/loss", params={"max_points": 20})
    assert len(small["steps"]) <= 20 and max(small["values"]) == 1.0 and min(small["values"]) == 1 / 500
    _, records = await api("GET", f"trio/api/tasks/{name}/records")
    assert records["record"] == {"lr": 0.1, "final_loss": 1 / 500}
    status, body = await api("GET", f"trio/api/tasks/{name}/metrics/nope")
    assert status == 404 and "nope" in body["error"]["message"]
    status, body = await api("GET", f"trio/api/tasks/{name}/metrics/loss", params={"max_points": 1})
    assert status == 422


async def test_metrics_appear_within_a_second_of_track(api, script_workspace, wait_task):
    await script_workspace(TRACKER, "lr: 0.1\nn: 1\nlinger: 5\n")
    _, out = await api("POST", "trio/api/generator/create", {"name_prefix": "live", "run": True})
    name = out["items"][0]["name"]
    await wait_task(name, "running")
    stamp = None
    while stamp is None:
        _, log = await api("GET", f"trio/api/tasks/{name}/logs")
        if "stamp" in log["content"]:
            stamp = float(log["content"].split()[1])
        await asyncio.sleep(0.01)
    while True:
        status, series = await api("GET", f"trio/api/tasks/{name}/metrics/marker")
        if status == 200:
            break
        assert time.time() - stamp < 1.0, "marker not visible after 1 s"
        await asyncio.sleep(0.02)
    assert time.time() - stamp < 1.0
    await api("POST", f"trio/api/tasks/{name}/cancel")
    await wait_task(name, "cancelled")


async def test_cancel_mid_loop_keeps_every_point_tracked_before_the_signal(api, script_workspace, wait_task):
    await script_workspace(ENDLESS, "a: 1\n")
    _, out = await api("POST", "trio/api/generator/create", {"name_prefix": "endless"})
    name = out["items"][0]["name"]
    # Only the SIGTERM handler can write these points: the periodic flush is effectively off.
    await api("PATCH", f"trio/api/tasks/{name}/env", {"env": {"TRIO_TRACK_FLUSH_S": "3600"}})
    await api("POST", f"trio/api/tasks/{name}/run")
    while True:
        _, task = await api("GET", f"trio/api/tasks/{name}")
        if task["status"] == "running":
            _, log = await api("GET", f"trio/api/tasks/{name}/logs")
            if "ready" in log["content"]:
                break
        await asyncio.sleep(0.02)
    await api("POST", f"trio/api/tasks/{name}/cancel")
    task = await wait_task(name, "cancelled")
    _, series = await api("GET", f"trio/api/tasks/{name}/metrics/i")
    assert len(series["steps"]) > 2000
    assert series["steps"] == list(range(len(series["steps"])))
    assert series["values"] == [float(i) for i in range(len(series["steps"]))]

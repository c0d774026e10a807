"""Run-folder change notifications (inotify) that wake log followers instead of polling."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest

from jupyter_trio.runner.folder_watch import FolderWatcher
from jupyter_trio.runner.shim import write_json_atomic

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux's")


def append(path, text: str) -> None:
    with open(path, "a") as fh:
        fh.write(text)


async def woken(sub, timeout: float = 2.0) -> bool:
    started = time.monotonic()
    await sub.wait(timeout)
    return time.monotonic() - started < timeout


async def test_writes_creates_and_renames_wake_every_subscriber_of_the_folder(tmp_path):
    watcher = FolderWatcher()
    assert watcher.available
    a, b = watcher.subscribe(tmp_path), watcher.subscribe(tmp_path)
    try:
        for change in (
            lambda: (tmp_path / "output.log").write_text("new file\n"),
            lambda: append(tmp_path / "output.log", "appended\n"),
            lambda: write_json_atomic(tmp_path / "exit.json", {"exit_code": 0}),
        ):
            a.clear()
            b.clear()
            change()
            assert await woken(a) and await woken(b)
        a.clear()
        assert not await woken(a, timeout=0.3)  # nothing changed: the wait runs to its timeout
    finally:
        a.close()
        b.close()
        watcher.close()


async def test_one_watch_per_folder_released_with_its_last_subscriber(tmp_path):
    watcher = FolderWatcher()
    a, b = watcher.subscribe(tmp_path), watcher.subscribe(tmp_path)
    assert a.wd == b.wd and len(watcher._subs) == 1
    a.close()
    assert len(watcher._subs) == 1
    b.close()
    assert watcher._subs == {}
    watcher.close()


async def test_a_missing_folder_or_a_closed_watcher_gives_none_and_close_wakes_waiters(tmp_path):
    watcher = FolderWatcher()
    assert watcher.subscribe(tmp_path / "not-made-yet") is None
    sub = watcher.subscribe(tmp_path)
    sub.clear()
    waiting = asyncio.ensure_future(woken(sub, timeout=5))
    await asyncio.sleep(0.05)
    watcher.close()
    assert await waiting  # nobody sleeps on a watcher that is gone
    assert watcher.subscribe(tmp_path) is None and not watcher.available


async def test_a_follower_of_a_queued_run_gets_its_whole_log(api, jp_ws_fetch, wait_task, trio_app):
    from test_runner import shell_task

    blockers = [await shell_task(api, "sleep 1.5", prefix=f"block{i}") for i in range(2)]  # max_cpu_jobs=2
    name = await shell_task(api, "for i in 1 2 3; do echo line $i; sleep 0.2; done", prefix="late")
    status, task = await api("GET", f"trio/api/tasks/{name}")
    assert task["status"] == "queued"
    assert not trio_app.tasks.run_dir(task["id"], 1).exists()  # nothing to watch yet
    ws = await jp_ws_fetch("trio", "api", "tasks", name, "logs", "stream")
    received = ""
    while True:
        msg = json.loads(await asyncio.wait_for(ws.read_message(), 30))
        if msg["type"] == "status":
            break
        received += msg["content"]
    assert msg["status"] == "completed"
    assert received.splitlines() == ["line 1", "line 2", "line 3"]
    for blocker in blockers:
        await wait_task(blocker, "completed")

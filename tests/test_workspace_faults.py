"""Faults of the workspace itself: a damaged trio.db, and `jupyter trio check` against the run folders;
a machine that "reboots" (the server and every job killed at once)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_restart import create_shell

from jupyter_trio.testing import ServerProcess, wait_for

pytestmark = pytest.mark.slow


def check(workspace, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("jupyter")), "trio", "check", str(workspace), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_damaged_database_is_reported_on_every_route_and_never_overwritten(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    workspace = root / ".trio"
    with ServerProcess(root) as server, server.client() as client:
        client.post("/trio/api/workspace/shell")
        create_shell(client, "kept", "echo kept")
    db = workspace / "trio.db"
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])  # truncated, as by a full disk or a bad copy
    damaged = db.read_bytes()
    server = ServerProcess(root).start(expect=503)
    try:
        with server.client() as client:
            for path in ("/trio/api/health", "/trio/api/tasks", "/trio/paddlex/project", "/trio/api/v1/user"):
                reply = client.get(path)
                assert reply.status_code == 503, (path, reply.text)
                text = reply.text
                assert str(db) in text and "jupyter trio check" in text and "move" in text, text
            assert client.get("/api/status").status_code == 200  # the Jupyter server itself runs on
            assert httpx_no_token(server).status_code == 403  # and nothing is shown without a token
    finally:
        server.stop()
    assert db.read_bytes() == damaged  # never written over
    result = check(workspace)
    assert result.returncode == 1 and "DAMAGED" in result.stdout and str(db) in result.stdout


def httpx_no_token(server):
    import httpx

    return httpx.get(f"{server.url}/trio/api/health", timeout=10)


def test_check_finds_and_repairs_what_the_store_and_the_folders_disagree_on(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    workspace = root / ".trio"
    with ServerProcess(root, "--TrioApp.max_cpu_jobs=2") as server, server.client() as client:
        client.post("/trio/api/workspace/shell")
        gone = create_shell(client, "gone", "echo gone")
        slow = create_shell(client, "slow", "sleep 3; echo done; exit 4")
        wait_for(lambda: client.get(f"/trio/api/tasks/{gone}").json()["status"] == "completed", 60)
        wait_for(lambda: client.get(f"/trio/api/tasks/{slow}").json()["status"] == "running", 60)
        ids = {name: client.get(f"/trio/api/tasks/{name}").json()["id"] for name in (gone, slow)}
    # the server is gone; the slow job ends without it, and one task's folder is deleted by hand
    run_dir = workspace / "tasks" / ids[slow] / "runs" / "1"
    wait_for(lambda: (run_dir / "exit.json").exists(), 30)
    import shutil

    shutil.rmtree(workspace / "tasks" / ids[gone])

    found = check(workspace)
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"task {gone} ({ids[gone]}): its folder" in found.stdout
    assert f"run {slow}/1 ended (exit.json is there)" in found.stdout
    assert not (workspace / "tasks" / ids[gone]).exists()  # without --repair nothing changes

    repaired = check(workspace, "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert repaired.stdout.count("REPAIRED") == 2, repaired.stdout
    assert (workspace / "tasks" / ids[gone] / "command.sh").read_text() == "echo gone\n"
    clean = check(workspace)
    assert clean.returncode == 0 and clean.stdout.startswith("ok"), clean.stdout
    with ServerProcess(root) as server, server.client() as client:
        ended = client.get(f"/trio/api/tasks/{slow}").json()
        assert (ended["status"], ended["exit_code"]) == ("failed", 4)


def test_after_a_reboot_every_run_is_interrupted_and_training_resumes(tmp_path):
    pytest.importorskip("paddle")
    root = tmp_path / "root"
    root.mkdir()
    workspace = root / ".trio"
    args = ("--TrioApp.max_cpu_jobs=2", "--TrioApp.demo_images=40")
    server = ServerProcess(root, *args).start()
    try:
        with server.client() as client:
            client.post("/trio/api/workspace/shell")
            sleeper = create_shell(client, "sleeper", "sleep 300")
            tid = _train_demo(client)
            epoch_1 = workspace / "tasks" / tid / "checkpoints" / "epoch_1" / "state.json"
            wait_for(lambda: epoch_1.exists() and client.get(f"/trio/api/tasks/{sleeper}").json()["pid"], 300)
    finally:
        os.killpg(server.proc.pid, signal.SIGKILL)  # the "reboot": the server first ...
        server.proc.wait()
        for shim in workspace.glob("tasks/*/runs/*/shim.json"):  # ... and every job with its supervisor
            try:
                os.killpg(json.loads(shim.read_text())["pgid"], signal.SIGKILL)
            except ProcessLookupError:
                pass
    time.sleep(0.5)

    with ServerProcess(root, *args) as server, server.client() as client:
        tasks = client.get("/trio/api/tasks", params={"limit": 100}).json()["items"]
        assert not [t for t in tasks if t["status"] in ("running", "queued")], tasks
        for name in (sleeper, tid):
            task = client.get(f"/trio/api/tasks/{name}").json()
            assert task["status"] == "interrupted" and "machine restarted" in task["message"], task
        reply = client.put("/trio/paddlex/project/task/train", json={"tid": tid, "act": "resume", "epoch": 1})
        assert reply.json()["status"] == 1, reply.text
        wait_for(lambda: client.get(f"/trio/api/tasks/{tid}").json()["status"] == "running", 60)
        log = wait_for(lambda: _log_has(client, tid, "resumed from epoch 1"), 300)
        assert "resumed from epoch 1" in log
        client.post(f"/trio/api/tasks/{tid}/cancel")


def _train_demo(client) -> str:
    """A long training of PaddleX's classification demo, through the PaddleX dialect; its tid."""

    def px(method: str, path: str, body: dict) -> dict:
        reply = client.request(method, f"/trio/paddlex/{path}", json=body)
        assert reply.status_code == 200, reply.text
        return reply.json()

    px("POST", "demo", {"type": "download", "prj_type": 0})
    wait_for(lambda: px("GET", "demo", {"prj_type": 0})["attr"]["status"] == 3, 120)
    pid = px("POST", "demo", {"type": "load", "prj_type": 0})["pid"]
    train = {"model": "MobileNetV3_small", "image_shape": [32, 32], "batch_size": 16, "num_epochs": 30}
    tid = px("POST", "project/task", {"pid": pid, "train": {**train, "save_interval_epochs": 1}})["tid"]
    assert px("POST", "project/task/train", {"tid": tid}) == {"status": 1}
    return tid


def _log_has(client, name: str, text: str):
    log = client.get(f"/trio/api/tasks/{name}/logs", params={"tail": 400}).json()["content"]
    return log if text in log else None

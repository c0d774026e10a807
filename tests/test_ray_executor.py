"""The Ray executor against a real local Ray head (``ray start --head`` on 127.0.0.1, 2 CPUs, no GPU):
jobs run as Ray jobs, with and without a filesystem shared with the server."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from jupyter_trio.testing import RayHead, ServerProcess, wait_for

from dataset_fixtures import TINY_TRAIN

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

TRACKING_SCRIPT = """\
import os, sys
import jupyter_trio as trio
cfg = trio.read()
print("run dir", os.environ["TRIO_RUN_DIR"], flush=True)
for step in range(50):
    trio.track(loss=1.0 / (step + 1), step=step)
    print(f"step {step}", flush=True)
print("to stderr", file=sys.stderr, flush=True)
trio.record(done=True, lr=cfg.lr)
with open(os.path.join(trio.get_task_dir(), "artifact.txt"), "w") as fh:
    fh.write("made on the worker")
trio.publish(os.path.join(trio.get_task_dir(), "artifact.txt"))
import time
time.sleep(2.5)  # long enough for the node's system sampler to take its points
"""


@pytest.fixture(scope="module")
def ray_head():
    # a short temp path: Ray's socket paths must stay under the kernel's 107 characters
    folder = Path(tempfile.mkdtemp(prefix="trio-ray-", dir="/tmp"))
    head = RayHead(folder, num_cpus=2).start()
    yield head
    head.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["shared", "copied"])
def fs_mode(request) -> str:
    return request.param


@pytest.fixture
def trio_config(ray_head, fs_mode):
    return {
        "executor": "ray",
        "ray_address": ray_head.address,
        "ray_python": sys.executable,
        "ray_shared_filesystem": fs_mode == "shared",
        "demo_images": 40,
    }


def prefix_of(trio_app) -> str:
    return trio_app.runner.executor.describe()["job_prefix"]


def ray_job(ray_head, prefix: str, task_id: str, run: int = 1):
    """The Ray job of a run: its submission id is the workspace's prefix (health's
    executor_state.job_prefix, trio-<workspace tag>-), the task id and the run index."""
    sid = f"{prefix}{task_id}-{run}"
    return next((j for j in ray_head.jobs().list_jobs() if j.submission_id == sid), None)


async def test_script_task_runs_as_a_ray_job_with_logs_and_metrics(
    trio_app, api, wait_task, script_workspace, ray_head, fs_mode, trio_workspace
):
    await script_workspace(TRACKING_SCRIPT, "lr: 0.5\n")
    status, created = await api("POST", "trio/api/generator/create", {"name_prefix": "ray", "run": True})
    assert status == 201, created
    name = created["items"][0]["name"]
    done = await wait_task(name, "completed", "failed", timeout=120)
    _, log = await api("GET", f"trio/api/tasks/{name}/logs")
    assert done["status"] == "completed", (done, log)
    assert done["exit_code"] == 0
    task_id = done["id"]
    job = ray_job(ray_head, prefix_of(trio_app), task_id)
    assert job is not None and job.status == "SUCCEEDED" and job.driver_exit_code == 0

    lines = log["content"].splitlines()
    assert [line for line in lines if line.startswith("step ")] == [f"step {i}" for i in range(50)]
    assert "to stderr" in lines and not any("Runtime env" in line for line in lines)  # Ray's own lines
    server_run_dir = trio_workspace / "tasks" / task_id / "runs" / "1"
    worker_run_dir = next(line for line in lines if line.startswith("run dir ")).split(" ", 2)[2]
    # with a shared filesystem the job writes the run folder itself; without, it worked elsewhere
    assert (worker_run_dir == str(server_run_dir)) == (fs_mode == "shared")
    _, stderr = await api("GET", f"trio/api/tasks/{name}/logs", params={"stream": "stderr"})
    assert stderr["content"] == "to stderr\n", log["content"]

    _, series = await api("GET", f"trio/api/tasks/{name}/metrics/loss")
    assert series["steps"] == list(range(50)) and series["values"][-1] == pytest.approx(1 / 50)
    _, records = await api("GET", f"trio/api/tasks/{name}/records")
    assert records["record"]["done"] is True and records["record"]["lr"] == 0.5
    # the node sampled the job's system metrics: in the run folder, or sent back without a shared one
    _, index = await api("GET", f"trio/api/tasks/{name}/metrics")
    assert index["series"].get("sys/cpu", 0) >= 1 and index["series"].get("sys/rss", 0) >= 1, index
    assert (trio_workspace / "tasks" / task_id / "artifact.txt").read_text() == "made on the worker"


async def test_paddlex_train_task_runs_on_ray(trio_app, api, wait_task, fs_mode, ray_head, trio_workspace):
    pytest.importorskip("paddle")
    trio_app.demo_datasets.download("classification")
    trio_app.demo_datasets.wait("classification", 60)
    loop = asyncio.get_running_loop()
    pid = (await loop.run_in_executor(None, trio_app.demo_datasets.load, "classification", "me")).project_id
    task = trio_app.training.create("me", pid, TINY_TRAIN)
    trio_app.training.start(task.id)
    done = await wait_task(task.id, "completed", "failed", timeout=300)
    _, log = await api("GET", f"trio/api/tasks/{task.id}/logs", params={"tail": 200})
    assert done["status"] == "completed", log["content"][-3000:]
    assert ray_job(ray_head, prefix_of(trio_app), task.id).status == "SUCCEEDED"
    assert "[TRAIN] Epoch=2/2" in log["content"]
    _, series = await api("GET", f"trio/api/tasks/{task.id}/metrics")
    assert {"loss", "lr", "eval_acc1"} <= set(series["series"])
    # the checkpoints are in the server's task folder, whichever filesystem mode
    checkpoints = trio_workspace / "tasks" / task.id / "checkpoints"
    assert (checkpoints / "epoch_2" / "model.pdparams").is_file()
    assert json.loads((checkpoints / "epoch_2" / "state.json").read_text())["epoch"] == 2

    # its child jobs run on Ray too, and what they write lands in the server's workspace
    tdir = trio_workspace / "tasks" / task.id
    image = sorted((trio_workspace / "datasets").rglob("*.jpg"))[0]
    children = {
        "evaluate": {"epoch": 2, "split": "test"},
        "predict": {"inputs": [str(image)], "out_dir": str(tdir / "predict" / "1")},
        "export": {"type": "infer", "save_dir": str(trio_workspace / "exports" / "ray")},
    }
    for kind, settings in children.items():
        job = trio_app.training.start_child("me", task.id, kind, **settings)
        done = await wait_task(job.id, "completed", "failed", timeout=240)
        _, log = await api("GET", f"trio/api/tasks/{job.id}/logs", params={"tail": 40})
        assert done["status"] == "completed", (kind, log["content"][-2000:])
    assert json.loads((tdir / "evaluate" / "result.json").read_text())["split"] == "test"
    assert (tdir / "predict" / "1" / f"{image.stem}_result.png").is_file()
    assert {"model.json", "model.pdiparams", "export.json"} <= {
        p.name for p in (trio_workspace / "exports" / "ray").iterdir()
    }


@pytest.mark.parametrize("fs_mode", ["shared"], indirect=True)
async def test_cancel_stops_the_ray_job(trio_app, api, wait_task, ray_head, trio_workspace):
    await api("POST", "trio/api/workspace/shell")
    status, created = await api(
        "POST",
        "trio/api/generator/create",
        {
            "name_prefix": "sleepy",
            "mode": "shell",
            # a byte that is not UTF-8: Ray serves its log as text, so the entrypoint passes it on replaced
            "shell_text": "printf 'bad \\377 byte\\n'; echo started; sleep 120",
            "run": True,
        },
    )
    assert status == 201, created
    name = created["items"][0]["name"]

    async def started():
        _, log = await api("GET", f"trio/api/tasks/{name}/logs")
        return "started" in log["content"]

    deadline = asyncio.get_running_loop().time() + 90
    while not await started():
        assert asyncio.get_running_loop().time() < deadline, "the Ray job never started"
        await asyncio.sleep(0.2)
    _, log = await api("GET", f"trio/api/tasks/{name}/logs")
    assert log["content"].startswith("bad \ufffd byte\n")
    status, _ = await api("POST", f"trio/api/tasks/{name}/cancel")
    assert status == 202  # accepted: the job stops within the grace period
    done = await wait_task(name, "cancelled", "failed", "completed", timeout=60)
    assert done["status"] == "cancelled"
    assert ray_job(ray_head, prefix_of(trio_app), done["id"]).status == "STOPPED"


@pytest.mark.parametrize("fs_mode", ["shared"], indirect=True)
async def test_a_run_the_cluster_cannot_hold_stays_queued_saying_why(
    trio_app, api, wait_task, ray_head, trio_workspace
):
    await api("POST", "trio/api/workspace/shell")
    status, created = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": "big", "mode": "shell", "shell_text": "echo never", "run": True, "gpus": 2},
    )
    assert status == 201, created
    name = created["items"][0]["name"]
    await asyncio.sleep(3)  # several runner ticks and cluster reads
    _, task = await api("GET", f"trio/api/tasks/{name}")
    assert task["status"] == "queued"
    assert "no node with 1 CPU(s) and 2 GPU(s)" in task["runs"][-1]["message"], task
    assert ray_job(ray_head, prefix_of(trio_app), task["id"]) is None  # never sent to Ray
    status, cancelled = await api("POST", f"trio/api/tasks/{name}/cancel")
    assert status == 202 and cancelled["status"] == "cancelled"  # it never left our queue


def test_a_restarted_server_reattaches_to_its_ray_job(tmp_path, ray_head):
    root = tmp_path / "root"
    root.mkdir()
    args = (
        "--TrioApp.executor=ray",
        f"--TrioApp.ray_address={ray_head.address}",
        f"--TrioApp.ray_python={sys.executable}",
    )
    command = "for i in $(seq 1 40); do echo line $i; sleep 0.2; done; exit 3"
    first = ServerProcess(root, *args).start()
    try:
        with first.client() as client:
            client.post("/trio/api/workspace/shell")
            prefix = client.get("/trio/api/health").json()["executor_state"]["job_prefix"]
            reply = client.post(
                "/trio/api/generator/create",
                json={"name_prefix": "long", "mode": "shell", "shell_text": command, "run": True},
            )
            name = reply.json()["items"][0]["name"]
            wait_for(lambda: "line 3\n" in client.get(f"/trio/api/tasks/{name}/logs").json()["content"], 90)
    finally:
        first.stop()
    assert ray_job(ray_head, prefix, "T0001").status == "RUNNING"  # the job outlived the server

    second = ServerProcess(root, *args).start()
    try:
        with second.client() as client:
            done = wait_for(
                lambda: (
                    (t := client.get(f"/trio/api/tasks/{name}").json())["status"] not in ("running",) and t
                ),
                120,
            )
            assert (done["status"], done["exit_code"]) == ("failed", 3)
            assert "Ray" in done["runs"][-1]["message"] and "line 40" in done["runs"][-1]["message"]
            log = client.get(f"/trio/api/tasks/{name}/logs").json()["content"]
            assert log.splitlines() == [f"line {i}" for i in range(1, 41)]  # every line, exactly once
            assert len(done["runs"]) == 1
    finally:
        second.stop()
    assert [j.submission_id for j in ray_head.jobs().list_jobs()].count(f"{prefix}T0001-1") == 1


def test_a_head_with_token_authentication_is_reached_with_the_token(tmp_path, monkeypatch):
    """Ray >= 2.5x: a head started where ``~/.ray/auth_token`` exists (``ray.init()`` writes one) answers
    only requests bearing it. The executor sends it, read where Ray's clients read it; without it the
    same head refuses (401), so the test would fail if the header went missing."""
    import httpx

    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text("trio-test-token-" + "x" * 32 + "\n")
    monkeypatch.setenv("HOME", str(home))  # the head, the server and this process all look there
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    folder = Path(tempfile.mkdtemp(prefix="trio-ray-", dir="/tmp"))
    head = RayHead(folder, num_cpus=1).start()
    try:
        assert httpx.get(f"{head.address}/api/v0/nodes", timeout=5).status_code == 401
        root = tmp_path / "root"
        root.mkdir()
        server = ServerProcess(
            root,
            "--TrioApp.executor=ray",
            f"--RayExecutor.address={head.address}",
            f"--RayExecutor.python={sys.executable}",
        ).start()
        try:
            with server.client() as client:
                client.post("/trio/api/workspace/shell")
                reply = client.post(
                    "/trio/api/generator/create",
                    json={"name_prefix": "auth", "mode": "shell", "shell_text": "echo reached", "run": True},
                )
                name = reply.json()["items"][0]["name"]
                done = wait_for(
                    lambda: (
                        (t := client.get(f"/trio/api/tasks/{name}").json())["status"]
                        not in ("queued", "running")
                        and t
                    ),
                    120,
                )
                assert done["status"] == "completed", done
                assert client.get(f"/trio/api/tasks/{name}/logs").json()["content"] == "reached\n"
        finally:
            server.stop()
    finally:
        head.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_python_without_jupyter_trio_on_the_nodes_is_found_before_any_job_runs(tmp_path, ray_head):
    """The nodes' Python is checked when the executor starts (one tiny job): a Python that cannot import
    jupyter_trio (here the system's, outside the venv) would fail every job with ModuleNotFoundError, so
    runs wait, saying why and what to set, and health shows it; nothing fails one by one."""
    python = "/usr/bin/python3"
    probe = subprocess.run([python, "-c", "import jupyter_trio"], capture_output=True, cwd=tmp_path)
    if probe.returncode == 0:
        pytest.skip("the system Python has jupyter_trio")
    root = tmp_path / "root"
    root.mkdir()
    server = ServerProcess(
        root,
        "--TrioApp.executor=ray",
        f"--RayExecutor.address={ray_head.address}",
        f"--RayExecutor.python={python}",
    ).start()
    try:
        with server.client() as client:
            client.post("/trio/api/workspace/shell")
            reply = client.post(
                "/trio/api/generator/create",
                json={"name_prefix": "nopy", "mode": "shell", "shell_text": "echo never", "run": True},
            )
            name = reply.json()["items"][0]["name"]
            task = wait_for(
                lambda: (
                    (t := client.get(f"/trio/api/tasks/{name}").json())["message"]
                    and "cannot run jupyter-trio's jobs" in t["message"]
                    and t
                ),
                120,
            )
            assert task["status"] == "queued" and "c.RayExecutor.python" in task["message"]
            assert "No module named 'jupyter_trio'" in task["message"]
            state = client.get("/trio/api/health").json()["executor_state"]["python"]
            assert state["state"] == "failed" and state["python"] == python
    finally:
        server.stop()

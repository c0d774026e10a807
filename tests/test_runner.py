"""The runner with real processes: limits, GPU placement, cancel, log streaming."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from pathlib import Path

import psutil
import pytest

from jupyter_trio.domain import Task, TaskQuery
from jupyter_trio.runner.gpus import GPU
from jupyter_trio.runner.scheduler import Placement, Request, plan
from jupyter_trio.runner.service import Runner
from jupyter_trio.services.tasks import GeneratorRequest, TaskService
from jupyter_trio.services.workspaces import ScriptWorkspaces
from jupyter_trio.store import Store


# ---- placement logic
def test_plan_respects_cpu_slots_and_priority_order():
    queue = [Request(("a", 1), 0), Request(("b", 1), 0), Request(("c", 1), 0)]
    assert plan(queue, [], 0, 2) == [Placement(("a", 1), []), Placement(("b", 1), [])]


def test_plan_never_shares_a_gpu_and_holds_back_behind_a_big_job():
    queue = [Request(("one", 1), 1), Request(("big", 1), 2), Request(("small", 1), 1), Request(("cpu", 1), 0)]
    placed = plan(queue, free_gpus=[0, 1], total_gpus=2, cpu_slots_free=1)
    assert placed == [Placement(("one", 1), [0]), Placement(("cpu", 1), [])]  # "small" waits behind "big"
    assert plan([Request(("x", 1), 3)], [0, 1], 2, 0) == []  # asks for more than exists


# ---- helpers
async def shell_task(api, command: str, prefix: str = "sh", run: bool = True, gpus: int = 0) -> str:
    await api("POST", "trio/api/workspace/shell")
    status, created = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": prefix, "mode": "shell", "shell_text": command, "run": run, "gpus": gpus},
    )
    assert status == 201, created
    return created["items"][0]["name"]


def pids_alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


async def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(interval)
    raise AssertionError("condition not met in time")


# ---- with the server
async def test_cpu_jobs_obey_max_cpu_jobs(api, wait_task):
    names = [await shell_task(api, "sleep 0.6", prefix=f"cpu{i}") for i in range(4)]
    tasks = [await wait_task(n, "completed", timeout=30) for n in names]
    spans = [(t["started_at"], t["ended_at"]) for t in tasks]
    for start, _ in spans:  # max_cpu_jobs = 2 in the test config
        running = sum(1 for s, e in spans if s <= start < e)
        assert running <= 2, spans
    assert max(s for s, _ in spans) >= min(e for _, e in spans) - 0.05  # the last two waited


async def test_cancel_kills_children_and_grandchildren(api, wait_task, tmp_path):
    pidfile = tmp_path / "pids"
    command = (
        f"sleep 300 & echo $! >> {pidfile}; "
        f"setsid sleep 301 & echo $! >> {pidfile}; "
        f"bash -c 'sleep 302 & echo $! >> {pidfile}; wait' & "
        f"echo $$ >> {pidfile}; wait"
    )
    name = await shell_task(api, command)
    await wait_task(name, "running")
    pids = await wait_for(
        lambda: (
            len(pidfile.read_text().split()) >= 4 and [int(p) for p in pidfile.read_text().split()]
            if pidfile.exists()
            else None
        )
    )
    assert len(pids_alive(pids)) == 4
    status, task = await api("POST", f"trio/api/tasks/{name}/cancel")
    assert status == 202
    task = await wait_task(name, "cancelled", timeout=30)
    assert task["ended_at"] is not None
    await wait_for(lambda: not pids_alive(pids), timeout=10)


async def test_what_a_job_leaves_running_ends_with_it(api, wait_task, tmp_path):
    """A job that exits leaving processes behind: its background child, and a grandchild orphaned into the
    supervisor (a subreaper) in a session of its own, are found from the kernel's children lists and ended
    before the run is recorded."""
    pidfile = tmp_path / "left"
    command = (
        f"sleep 310 & echo $! >> {pidfile}; "
        f"bash -c 'setsid sleep 311 & echo $! >> {pidfile}'; "  # its parent exits at once: an orphan
        "exit 0"
    )
    name = await shell_task(api, command)
    task = await wait_task(name, "completed", timeout=30)
    assert task["exit_code"] == 0
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == 2
    await wait_for(lambda: not pids_alive(pids), timeout=10)


async def test_cancel_of_a_job_that_ignores_sigterm_ends_with_sigkill(api, wait_task):
    name = await shell_task(api, "trap '' TERM; echo ready; while true; do sleep 0.1; done")
    await wait_task(name, "running")
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await api("POST", f"trio/api/tasks/{name}/cancel")
    await wait_task(name, "cancelled", timeout=30)
    assert time.monotonic() - started >= 1.5  # cancel_grace_period = 2 s in the test config
    _, log = await api("GET", f"trio/api/tasks/{name}/logs")
    assert log["content"].startswith("ready")


async def test_cancel_a_queued_run_and_run_again(api, wait_task):
    blockers = [await shell_task(api, "sleep 1", prefix=f"block{i}") for i in range(2)]
    name = await shell_task(api, "echo done", prefix="queued")
    _, task = await api("GET", f"trio/api/tasks/{name}")
    assert task["status"] == "queued"
    _, task = await api("POST", f"trio/api/tasks/{name}/cancel")
    assert task["status"] == "cancelled"
    status, body = await api("POST", f"trio/api/tasks/{blockers[0]}/run")
    assert status == 409 and "already running" in body["error"]["message"]
    await api("POST", f"trio/api/tasks/{name}/run")
    task = await wait_task(name, "completed", timeout=30)
    assert [r["status"] for r in task["runs"]] == ["cancelled", "completed"]


async def test_delete_with_force_kills_the_running_job(api, wait_task, tmp_path):
    pidfile = tmp_path / "pid"
    name = await shell_task(api, f"echo $$ > {pidfile}; sleep 300")
    await wait_task(name, "running")
    pid = await wait_for(
        lambda: pidfile.exists() and pidfile.read_text().strip() and int(pidfile.read_text())
    )
    status, body = await api("DELETE", f"trio/api/tasks/{name}")
    assert status == 409
    status, _ = await api("DELETE", f"trio/api/tasks/{name}", params={"force": "true"})
    assert status == 204
    await wait_for(lambda: not pids_alive([pid]), timeout=10)


@pytest.mark.parametrize("followers_wait_on", ["inotify", "polling"])
async def test_websocket_streams_every_line_once_in_order_across_a_reconnect(
    api, jp_ws_fetch, wait_task, trio_app, followers_wait_on
):
    if followers_wait_on == "polling":
        trio_app.folder_watch.close()  # as where inotify is missing
    assert trio_app.folder_watch.available == (followers_wait_on == "inotify")
    lines = 10_000
    name = await shell_task(
        api,
        f'for i in $(seq 1 {lines}); do echo "line $i"; if [ $((i % 2000)) = 0 ]; then sleep 0.1; fi; done',
    )
    await wait_task(name, "running", "completed")
    received, offset = "", 0
    ws = await jp_ws_fetch("trio", "api", "tasks", name, "logs", "stream")
    while received.count("\n") < 3000:
        msg = json.loads(await ws.read_message())
        assert msg["type"] == "chunk" and msg["task_name"] == name
        assert msg["offset"] == offset
        received += msg["content"]
        offset = msg["next_offset"]
    ws.close()
    ws = await jp_ws_fetch("trio", "api", "tasks", name, "logs", "stream", params={"offset": offset})
    final = None
    while final is None:
        raw = await ws.read_message()
        assert raw is not None, "socket closed before the final status"
        msg = json.loads(raw)
        if msg["type"] == "status":
            final = msg
            break
        assert msg["offset"] == offset
        received += msg["content"]
        offset = msg["next_offset"]
    assert final["status"] == "completed" and final["exit_code"] == 0
    assert received.splitlines() == [f"line {i}" for i in range(1, lines + 1)]
    assert await ws.read_message() is None  # the server closes after the status


async def test_websocket_refuses_unknown_task_and_missing_auth(jp_ws_fetch):
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as err:
        await jp_ws_fetch("trio", "api", "tasks", "nope", "logs", "stream")
    assert err.value.code == 404
    with pytest.raises(HTTPClientError) as err:
        await jp_ws_fetch("trio", "api", "tasks", "nope", "logs", "stream", headers={"Authorization": ""})
    assert err.value.code == 403


# ---- the runner alone, on configured (not discovered) GPUs
def make_runner(tmp_path: Path, gpus: list[int], max_cpu_jobs: int = 1) -> tuple[Runner, TaskService]:
    store = Store(tmp_path / "ws")
    runner = Runner(
        store,
        gpus=[GPU(index=i) for i in gpus],
        max_cpu_jobs=max_cpu_jobs,
        root_dir=tmp_path,
        cancel_grace_s=1.0,
    )
    service = TaskService(store, runner, ScriptWorkspaces(store, tmp_path))
    return runner, service


async def drive(runner: Runner, service: TaskService, names: list[str], timeout: float = 30.0) -> list[Task]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runner.tick()
        tasks = [service.get(n) for n in names]
        if all(t.status in ("completed", "failed", "cancelled", "interrupted") for t in tasks):
            return tasks
        await asyncio.sleep(0.02)
    raise AssertionError([service.get(n).status for n in names])


async def test_gpu_jobs_get_distinct_cuda_visible_devices(tmp_path):
    runner, service = make_runner(tmp_path, gpus=[0, 1])
    created = service.create(
        GeneratorRequest(
            name_prefix="g",
            mode="shell",
            gpus=1,
            run=True,
            shell_text='echo "cvd=$CUDA_VISIBLE_DEVICES start=$(date +%s.%N)"; sleep 0.5; '
            'echo "end=$(date +%s.%N)"',
        ),
        "me",
    )
    for _ in range(2):
        service.create(
            GeneratorRequest(
                name_prefix="g", mode="shell", gpus=1, run=True, shell_text=created.items[0].command
            ),
            "me",
        )
    names = ["g_001", "g_002", "g_003"]
    tasks = await drive(runner, service, names)
    assert all(t.status == "completed" for t in tasks)
    assigned = [t.gpu_ids for t in tasks]
    assert sorted(map(tuple, assigned[:2])) == [(0,), (1,)]
    logs = [(tmp_path / "ws" / "tasks" / t.id / "runs" / "1" / "stdout.log").read_text() for t in tasks]
    for task, log in zip(tasks, logs):
        assert f"cvd={task.gpu_ids[0]}" in log
    # The third job started only after one of the first two had ended: no GPU ran two jobs at once.
    assert tasks[2].started_at >= min(tasks[0].ended_at, tasks[1].ended_at) - 0.05
    runner.release()


async def test_too_many_gpus_is_refused(tmp_path):
    from jupyter_trio.errors import ValidationFailed

    runner, service = make_runner(tmp_path, gpus=[0])
    service.create(GeneratorRequest(name_prefix="g", mode="shell", shell_text="true"), "me")
    with pytest.raises(ValidationFailed, match="asks for 2 GPU"):
        service.run("g_001", gpus=2)


async def test_batch_creation_is_all_or_nothing(tmp_path):
    runner, service = make_runner(tmp_path, gpus=[])
    (tmp_path / "s.py").write_text("print(1)\n")
    service.workspaces.open_script("me", "s.py")
    service.create(GeneratorRequest(name_prefix="dup", template_value={"x": 1}), "me")
    # A failure inside the transaction (here: a name clash planted under the generator's feet) leaves
    # no task behind.
    real_names = service._names
    service._names = lambda conn, req, count: ["dup_001"] + real_names(conn, req, count)[1:]
    with pytest.raises(sqlite3.IntegrityError):
        service.create(GeneratorRequest(name_prefix="dup", template_value={"x": "1:500"}), "me")
    service._names = real_names
    _, total = service.list(TaskQuery())
    assert total == 1


# ---- spare shims (c.LocalExecutor.spare_shims, 1 by default): the runs the zygote does not take
def spares(trio_app) -> list:
    """The executor's spares, with its zygote off (c.LocalExecutor.warm_python = False): runs go to them."""
    local = trio_app.runner.local
    if local.warm_python:
        local.warm_python = False
        if local._zygote is not None:
            local._zygote.close()
            local._zygote = None
    return list(local._spares)


async def test_a_run_is_handed_to_the_waiting_spare_and_another_one_waits(api, wait_task, trio_app):
    (first,) = spares(trio_app)
    assert psutil.Process(first.pid).cmdline()[-1] == "--spare"
    name = await shell_task(api, "echo handed over; echo oops >&2; exit 3")
    task = await wait_task(name, "failed")
    assert task["exit_code"] == 3
    run_dir = trio_app.store.layout.run_dir(task["id"], 1)
    assert json.loads((run_dir / "shim.json").read_text())["shim_pid"] == first.pid  # the spare ran it
    assert (run_dir / "output.log").read_text().splitlines() == ["handed over", "oops"]
    (second,) = spares(trio_app)
    assert second.pid != first.pid and second.poll() is None


async def test_a_spare_gives_the_job_the_server_environment_of_the_launch(
    api, wait_task, trio_app, monkeypatch
):
    monkeypatch.setenv("TRIO_TEST_GONE_VARIABLE", "in the environment the next spare starts with")
    await wait_task(await shell_task(api, "true", prefix="first"), "completed")
    (spare,) = spares(trio_app)  # started after the first run, with the variable
    monkeypatch.delenv("TRIO_TEST_GONE_VARIABLE")
    monkeypatch.setenv("TRIO_TEST_LATE_VARIABLE", "set after the spare started")
    name = await shell_task(api, 'echo "$TRIO_TEST_LATE_VARIABLE" "${TRIO_TEST_GONE_VARIABLE-unset}"')
    task = await wait_task(name, "completed")
    run_dir = trio_app.store.layout.run_dir(task["id"], 1)
    assert json.loads((run_dir / "shim.json").read_text())["shim_pid"] == spare.pid
    assert (run_dir / "output.log").read_text() == "set after the spare started unset\n"


async def test_a_dead_spare_is_passed_over(api, wait_task, trio_app):
    (dead,) = spares(trio_app)
    dead.kill()
    dead.wait()
    name = await shell_task(api, "echo started cold")
    task = await wait_task(name, "completed")
    run_dir = trio_app.store.layout.run_dir(task["id"], 1)
    assert (run_dir / "output.log").read_text() == "started cold\n"


# ---- the zygote (c.LocalExecutor.warm_python, on by default)
async def test_the_zygote_forks_each_runs_supervisor_and_the_supervisor_outlives_it(api, wait_task, trio_app):
    local = trio_app.runner.local
    zygote = await wait_for(lambda: local._zygote if local._zygote and local._zygote.is_ready() else None)
    assert psutil.Process(zygote.process.pid).cmdline()[-1] == "--zygote"
    name = await shell_task(api, "sleep 1.5; echo still here")
    task = await wait_task(name, "running")
    run_dir = trio_app.store.layout.run_dir(task["id"], 1)
    shim = await wait_for(lambda: procs_read(run_dir / "shim.json"))
    supervisor = psutil.Process(shim["shim_pid"])
    assert supervisor.ppid() == zygote.process.pid  # forked, no interpreter started for it
    assert supervisor.pid == os.getpgid(supervisor.pid) == os.getsid(supervisor.pid)  # a session of its own
    zygote.process.kill()  # the zygote goes; the run it forked goes on and is recorded
    task = await wait_task(name, "completed", timeout=30)
    assert (run_dir / "output.log").read_text() == "still here\n"
    # the next run gets a new zygote (and a spare while that one starts)
    await wait_task(await shell_task(api, "true", prefix="after"), "completed")
    assert local._zygote is not zygote and local._zygote.alive()


def test_a_run_folder_is_taken_by_one_supervisor(tmp_path):
    """However a run's supervisor was started (the zygote's fork, a spare, a cold one), only the first
    that claims the run folder runs the job."""
    from jupyter_trio.runner import procs

    run_dir = tmp_path / "run"
    out = tmp_path / "ran"
    procs.launch(run_dir, ["/bin/bash", "-c", f"echo once >> {out}"], str(tmp_path), {}).process.wait(30)
    assert out.read_text() == "once\n" and (run_dir / "exit.json").exists()
    (run_dir / "exit.json").unlink()
    procs.launch(run_dir, ["/bin/bash", "-c", f"echo twice >> {out}"], str(tmp_path), {}).process.wait(30)
    assert out.read_text() == "once\n" and not (run_dir / "exit.json").exists()


def procs_read(path):
    from jupyter_trio.runner import procs

    return procs.read_json(path)


def test_spares_exit_when_the_executor_closes_or_their_server_dies(tmp_path):
    from jupyter_trio.runner import procs
    from jupyter_trio.runner.local_executor import LocalExecutor

    executor = LocalExecutor(spare_shims=2)
    executor.start()
    pids = [spare.pid for spare in executor._spares]
    assert len(pids) == 2 and pids_alive(pids) == pids
    executor.close()
    assert pids_alive(pids) == []
    # a spare whose server is gone (its stdin's other end closed without a word) exits by itself
    orphan = procs.start_spare()
    orphan.stdin.close()
    assert orphan.wait(timeout=10) == 0

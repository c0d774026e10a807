"""Jobs outlive the server: a new server on the same workspace re-attaches and records results."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from jupyter_trio.testing import ServerProcess

pytestmark = pytest.mark.slow


def wait_status(client, name: str, states: tuple[str, ...], timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = client.get(f"/trio/api/tasks/{name}").json()
        if task["status"] in states:
            return task
        time.sleep(0.1)
    raise AssertionError(f"{name} stayed {task['status']}")


def create_shell(client, prefix: str, command: str) -> str:
    reply = client.post(
        "/trio/api/generator/create",
        json={"name_prefix": prefix, "mode": "shell", "shell_text": command, "run": True},
    )
    assert reply.status_code == 201, reply.text
    return reply.json()["items"][0]["name"]


def test_restart_reattaches_and_records_jobs_that_ended_while_down(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    first = ServerProcess(root, "--TrioApp.max_cpu_jobs=4").start()
    try:
        with first.client() as client:
            client.post("/trio/api/workspace/shell")
            long_job = create_shell(
                client, "long", "for i in $(seq 1 100); do echo line $i; sleep 0.1; done; exit 5"
            )
            short_job = create_shell(client, "short", "sleep 0.5; echo bye; exit 7")
            lost_job = create_shell(client, "lost", "sleep 300")
            for name in (long_job, short_job, lost_job):
                wait_status(client, name, ("running",))
            lost = client.get(f"/trio/api/tasks/{lost_job}").json()
    finally:
        first.stop()

    # The server is gone; its jobs are not.
    workspace = root / ".trio"
    long_run = workspace / "tasks" / "T0001" / "runs" / "1"
    assert not (long_run / "exit.json").exists()
    shim = json.loads((long_run / "shim.json").read_text())
    os.kill(shim["shim_pid"], 0)  # still alive
    # One job ends while no server runs; another's supervisor dies without a trace (as in a crash).
    time.sleep(1.0)
    assert (workspace / "tasks" / "T0002" / "runs" / "1" / "exit.json").exists()
    os.killpg(lost["pid"], signal.SIGKILL)

    second = ServerProcess(root, "--TrioApp.max_cpu_jobs=4").start()
    try:
        with second.client() as client:
            short = wait_status(client, short_job, ("completed", "failed"), timeout=10)
            assert (short["status"], short["exit_code"]) == ("failed", 7)
            assert client.get(f"/trio/api/tasks/{short_job}/logs").json()["content"] == "bye\n"
            lost = wait_status(client, lost_job, ("interrupted", "completed", "failed"), timeout=10)
            assert lost["status"] == "interrupted" and lost["exit_code"] is None

            running = client.get(f"/trio/api/tasks/{long_job}").json()
            assert running["status"] == "running"  # re-attached, not restarted
            done = wait_status(client, long_job, ("completed", "failed"))
            assert (done["status"], done["exit_code"]) == ("failed", 5)
            assert done["run_index"] == 1 and len(done["runs"]) == 1
            log = client.get(f"/trio/api/tasks/{long_job}/logs").json()["content"]
            assert log.splitlines() == [f"line {i}" for i in range(1, 101)]
    finally:
        second.stop()

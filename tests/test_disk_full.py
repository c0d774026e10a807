"""The workspace's disk fills up during a job (a small tmpfs the test mounts as root): the job fails saying
"no space left", the store stays consistent, the server keeps serving, and once space is freed the next
job runs."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from jupyter_trio.testing import ServerProcess, wait_for

pytestmark = pytest.mark.slow

FILL = (
    "python3 -c \"import os; f = open(os.path.join(os.environ['TRIO_TASK_DIR'], 'fill'), 'wb'); "
    "[f.write(b'x' * (1 << 20)) or f.flush() for _ in range(200)]\""
)


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / "workspace"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(folder)]
    mounted = subprocess.run(mount, capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"the tmpfs mount was refused: {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def free_bytes(folder) -> int:
    stat = os.statvfs(folder)
    return stat.f_bavail * stat.f_frsize


def status_of(client, name: str) -> dict:
    return client.get(f"/trio/api/tasks/{name}").json()


def test_a_full_disk_fails_the_job_saying_so_and_the_server_goes_on(tmp_path, small_disk):
    root = tmp_path / "root"
    root.mkdir()
    with ServerProcess(root, f"--TrioApp.workspace_dir={small_disk}") as server, server.client() as client:
        client.post("/trio/api/workspace/shell")
        reply = client.post(
            "/trio/api/generator/create",
            json={"name_prefix": "filler", "mode": "shell", "shell_text": FILL, "run": True},
        )
        name, task_id = reply.json()["items"][0]["name"], reply.json()["items"][0]["id"]
        fill = small_disk / "tasks" / task_id / "fill"
        wait_for(lambda: fill.exists() and free_bytes(small_disk) < 1 << 20, 60)
        time.sleep(1.0)  # the job has met ENOSPC and ended; its supervisor waits to record that

        # the server serves on: reads work, a write is refused with a clear reason, nothing half-written
        assert client.get("/trio/api/health").status_code == 200
        assert client.get("/trio/api/tasks").status_code == 200
        refused = client.post(
            "/trio/api/generator/create",
            json={"name_prefix": "more", "mode": "shell", "shell_text": "echo x"},
        )
        if refused.status_code != 201:  # SQLite may still find room for a small write
            assert refused.status_code == 507, refused.text
            assert "no space left" in refused.json()["error"]["message"]

        fill.unlink()  # space is back
        done = wait_for(
            lambda: (t := status_of(client, name))["status"] not in ("running", "queued") and t, 60
        )
        assert done["status"] == "failed", done
        assert "no space left" in done["message"].lower(), done
        listed = client.get("/trio/api/tasks", params={"limit": 100}).json()["items"]
        assert not [t for t in listed if t["status"] == "running"]

        after = client.post(
            "/trio/api/generator/create",
            json={"name_prefix": "after", "mode": "shell", "shell_text": "echo fine", "run": True},
        ).json()["items"][0]["name"]
        wait_for(lambda: status_of(client, after)["status"] == "completed", 60)
        assert client.get(f"/trio/api/tasks/{after}/logs").json()["content"] == "fine\n"

"""GPU packing (issue 34): tasks that ask for ``gpu_memory`` MiB share a GPU while their memory fits, and
whole-GPU tasks never land on a shared GPU; the pure plan, and a live server with two GPUs set by hand
(8,000 MiB each, no NVML needed: jobs only read CUDA_VISIBLE_DEVICES)."""

from __future__ import annotations

import asyncio
import time

import pytest

from jupyter_trio.runner.scheduler import Placement, Request, plan

CAP = {0: 8000, 1: 8000}


def test_packed_jobs_share_a_gpu_while_their_memory_fits():
    queue = [Request(("a", 1), 1, 3000), Request(("b", 1), 1, 3000), Request(("c", 1), 1, 3000)]
    assert plan(queue, [0, 1], 2, 0, CAP) == [
        Placement(("a", 1), [0]),
        Placement(("b", 1), [0]),
        Placement(("c", 1), [1]),  # 9,000 MiB would not fit GPU 0
    ]


def test_a_whole_gpu_job_never_lands_on_a_shared_gpu_and_packed_ones_fill_the_fullest():
    # GPU 0 holds 5,000 MiB of packed jobs (so it is not free); GPU 1 is free
    queue = [Request(("whole", 1), 1), Request(("small", 1), 1, 2000), Request(("big", 1), 1, 4000)]
    placed = plan(queue, [1], 2, 0, CAP, {0: 5000})
    assert placed == [Placement(("whole", 1), [1]), Placement(("small", 1), [0])]  # big fits nowhere now
    # with both GPUs shared, a packed job goes to the one it fills best
    assert plan([Request(("x", 1), 1, 1000)], [], 2, 0, CAP, {0: 2000, 1: 6000}) == [Placement(("x", 1), [1])]


def test_a_gpu_of_unknown_memory_takes_no_packed_job_and_a_waiting_one_holds_back_nothing():
    queue = [Request(("p", 1), 1, 1000), Request(("w", 1), 1), Request(("cpu", 1), 0)]
    assert plan(queue, [0], 1, 1, {0: 0}) == [Placement(("w", 1), [0]), Placement(("cpu", 1), [])]


@pytest.fixture
def jp_server_config(trio_workspace):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_trio": True}},
        "TrioApp": {
            "workspace_dir": str(trio_workspace),
            "gpus": "0,1",
            "max_cpu_jobs": 2,
            "poll_interval": 0.05,
            "cancel_grace_period": 2.0,
            "freeze_startup_heap": False,
        },
        "LocalGPUs": {"gpu_memory_mib": 8000, "foreign_memory_mib": 0},
    }


async def test_three_packed_tasks_and_a_whole_gpu_one_on_two_gpus(api, wait_task):
    await api("POST", "trio/api/workspace/shell")
    job = 'echo "cvd=$CUDA_VISIBLE_DEVICES mib=$TRIO_GPU_MEMORY_MIB"; sleep 3'
    status, packed = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": "packed", "mode": "shell", "shell_text": job, "gpu_memory": 3000, "run": True},
    )
    assert status == 201, packed
    names = [item["name"] for item in packed["items"]]
    # three at once: the form's mode makes one task; two more from the same definition
    for _ in range(2):
        _, more = await api(
            "POST",
            "trio/api/generator/create",
            {"name_prefix": "packed", "mode": "shell", "shell_text": job, "gpu_memory": 3000, "run": True},
        )
        names.append(more["items"][0]["name"])
    tasks = [await wait_task(n, "running", timeout=30) for n in names]
    assert [t["assigned_gpus"] for t in tasks] == [[0], [0], [1]]
    assert all(t["gpu_memory"] == 3000 and t["gpus"] == 1 for t in tasks)
    # a whole-GPU task waits: GPU 0 is shared, GPU 1 holds a packed job
    _, whole = await api(
        "POST",
        "trio/api/generator/create",
        {
            "name_prefix": "whole",
            "mode": "shell",
            "shell_text": "echo cvd=$CUDA_VISIBLE_DEVICES",
            "gpus": 1,
            "run": True,
        },
    )
    name = whole["items"][0]["name"]
    await asyncio.sleep(1.0)
    assert (await api("GET", f"trio/api/tasks/{name}"))[1]["status"] == "queued"
    done = await wait_task(name, "completed", timeout=30)
    started = done["started_at"]
    for n in names:
        t = await wait_task(n, "completed", timeout=30)
        _, log = await api("GET", f"trio/api/tasks/{n}/logs")
        assert log["content"].strip() == f"cvd={t['assigned_gpus'][0]} mib=3000"
    ended = [(await api("GET", f"trio/api/tasks/{n}"))[1]["ended_at"] for n in names]
    assert started >= min(ended)  # it started only once a GPU had no packed job left
    assert time.time() > started


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"gpu_memory": 9000}, "no GPU of this server offers 9000 MiB"),
        ({"gpu_memory": 1000, "gpus": 2}, "ask for gpus 0 or 1"),
        ({"gpu_memory": -1}, "gpu_memory"),
    ],
)
async def test_bad_packing_requests(api, body, needle):
    await api("POST", "trio/api/workspace/shell")
    status, reply = await api(
        "POST",
        "trio/api/generator/create",
        {"name_prefix": "bad", "mode": "shell", "shell_text": "true", **body},
    )
    assert status == 422 and needle in reply["error"]["message"], reply

"""GPUs already in use (issue 34): before placing a job, the local GPU source reads NVML's compute
processes and treats a GPU that no job of this server holds, but that other processes fill beyond
``c.LocalGPUs.foreign_memory_mib``, as busy — the job goes to the other GPU, or waits saying who uses the
GPU. NVML is faked here (this machine has no GPU); on a lent GPU machine a real foreign process does it."""

from __future__ import annotations

import asyncio

from test_runner import drive, make_runner

from jupyter_trio.runner import gpu_sources
from jupyter_trio.runner.gpus import GPUProcess
from jupyter_trio.services.tasks import GeneratorRequest

GIB = 1 << 30


def fake_nvml(monkeypatch, processes: list[GPUProcess]) -> list[list[int]]:
    asked: list[list[int]] = []

    def gpu_processes(indices=None):
        asked.append(list(indices or []))
        return list(processes)

    monkeypatch.setattr(gpu_sources, "gpu_processes", gpu_processes)
    monkeypatch.setattr(gpu_sources, "FOREIGN_EVERY_S", 0.0)
    return asked


async def test_a_gpu_filled_by_a_foreign_process_is_passed_over(tmp_path, monkeypatch):
    asked = fake_nvml(monkeypatch, [GPUProcess(gpu=0, pid=4242, user="alice", memory_used=10 * GIB)])
    runner, service = make_runner(tmp_path, gpus=[0, 1])
    service.create(
        GeneratorRequest(
            name_prefix="g", mode="shell", gpus=1, run=True, shell_text="echo $CUDA_VISIBLE_DEVICES"
        ),
        "me",
    )
    (task,) = await drive(runner, service, ["g_001"])
    assert task.status == "completed" and list(task.gpu_ids) == [1]  # not the GPU alice fills
    assert asked and asked[0] == [0, 1]
    runner.release()


async def test_a_run_waits_saying_who_uses_the_only_gpu(tmp_path, monkeypatch):
    processes = [GPUProcess(gpu=0, pid=4242, user="alice", memory_used=6 * GIB)]
    fake_nvml(monkeypatch, processes)
    runner, service = make_runner(tmp_path, gpus=[0])
    service.create(GeneratorRequest(name_prefix="g", mode="shell", gpus=1, run=True, shell_text="true"), "me")
    for _ in range(5):
        runner.tick()
        await asyncio.sleep(0.02)
    task = service.get("g_001")
    assert task.status == "queued"
    run = service.detail("g_001")[1][-1]
    assert "in use outside this server's jobs" in run.message and "pid 4242 (alice, 6.0 GiB)" in run.message
    processes.clear()  # alice's notebook ended: the run starts
    (task,) = await drive(runner, service, ["g_001"])
    assert task.status == "completed" and list(task.gpu_ids) == [0]
    runner.release()


async def test_small_uses_and_the_switch_leave_the_gpu_free(tmp_path, monkeypatch):
    fake_nvml(
        monkeypatch, [GPUProcess(gpu=0, pid=7, user="bob", memory_used=200 << 20)]
    )  # 200 MiB: a context
    runner, service = make_runner(tmp_path, gpus=[0])
    service.create(GeneratorRequest(name_prefix="g", mode="shell", gpus=1, run=True, shell_text="true"), "me")
    (task,) = await drive(runner, service, ["g_001"])
    assert task.status == "completed"
    runner.release()

    fake_nvml(monkeypatch, [GPUProcess(gpu=0, pid=7, user="bob", memory_used=20 * GIB)])
    runner, service = make_runner(tmp_path / "off", gpus=[0])
    runner.gpu_source.foreign_memory_mib = 0  # the switch
    service.create(GeneratorRequest(name_prefix="h", mode="shell", gpus=1, run=True, shell_text="true"), "me")
    (task,) = await drive(runner, service, ["h_001"])
    assert task.status == "completed"
    runner.release()

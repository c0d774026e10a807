"""On a machine with NVIDIA GPUs: NVML discovery and CUDA_VISIBLE_DEVICES isolation with torch jobs.

Skipped where NVML sees no GPU or torch is missing (CI has neither).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest

from jupyter_trio.runner.gpus import discover_gpus, nvml_gpus
from jupyter_trio.runner.service import Runner
from jupyter_trio.services.tasks import GeneratorRequest, TaskService
from jupyter_trio.services.workspaces import ScriptWorkspaces
from jupyter_trio.store import Store

GPUS = nvml_gpus()
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not GPUS, reason="no NVIDIA GPU visible to NVML"),
]

TORCH_JOB = r"""
import json, os, time, torch
assert torch.cuda.is_available()
props = torch.cuda.get_device_properties(0)
x = torch.randn(4096, 4096, device="cuda")
start = time.time()
for _ in range(50):
    x = (x @ x).tanh()
torch.cuda.synchronize()
print(json.dumps({"cvd": os.environ["CUDA_VISIBLE_DEVICES"], "count": torch.cuda.device_count(),
                  "uuid": str(getattr(props, "uuid", "")), "name": props.name,
                  "start": start, "end": time.time()}))
"""


def test_nvml_discovery_lists_every_gpu_with_memory():
    found = discover_gpus("auto")
    assert [g.index for g in found] == list(range(len(found)))
    assert all(g.memory_total > 0 and g.uuid.startswith("GPU-") for g in found)
    assert discover_gpus("none") == []


async def test_two_torch_jobs_each_see_only_their_gpu(tmp_path):
    pytest.importorskip("torch")
    (tmp_path / "job.py").write_text(TORCH_JOB)
    store = Store(tmp_path / "ws")
    runner = Runner(store, gpus=discover_gpus("auto"), max_cpu_jobs=1, root_dir=tmp_path, python=sys.executable)
    service = TaskService(store, runner, ScriptWorkspaces(store, tmp_path))
    service.workspaces.open_script("me", "job.py")
    created = service.create(GeneratorRequest(name_prefix="gpu", template_value={"seed": "1 | 2"}, gpus=1,
                                              run=True), "me")
    names = [i["name"] for i in created["items"]]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        runner.tick()
        tasks = [service.get(n) for n in names]
        if all(t["status"] in ("completed", "failed") for t in tasks):
            break
        await asyncio.sleep(0.05)
    logs = []
    for task in tasks:
        log = (store.layout.run_dir(task["id"], 1) / "output.log").read_text()
        assert task["status"] == "completed", log
        logs.append(json.loads(log.strip().splitlines()[-1]))
    for task, out in zip(tasks, logs):
        assert out["count"] == 1
        assert out["cvd"] == str(task["assigned_gpus"][0])
    if len(GPUS) >= 2:
        assert logs[0]["cvd"] != logs[1]["cvd"] and logs[0]["uuid"] != logs[1]["uuid"]
        overlap = min(logs[0]["end"], logs[1]["end"]) - max(logs[0]["start"], logs[1]["start"])
        print(f"two GPUs, jobs overlapped for {overlap:.2f}s: {logs}")
    runner.release()

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
    runner = Runner(
        store, gpus=discover_gpus("auto"), max_cpu_jobs=1, root_dir=tmp_path, python=sys.executable
    )
    service = TaskService(store, runner, ScriptWorkspaces(store, tmp_path))
    service.workspaces.open_script("me", "job.py")
    created = service.create(
        GeneratorRequest(name_prefix="gpu", template_value={"seed": "1 | 2"}, gpus=1, run=True), "me"
    )
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


# ---- through the real server: GPU jobs queue for the GPUs, CPU jobs run beside them, cancel frees the GPU
HOLD_JOB = r"""
import json, os, sys, time
import torch
tag, hold = sys.argv[1], float(sys.argv[2])
start = time.time()
info = {"tag": tag, "cvd": os.environ.get("CUDA_VISIBLE_DEVICES"), "order":
os.environ.get("CUDA_DEVICE_ORDER"),
        "cuda": torch.cuda.is_available(), "pid": os.getpid(), "start": start}
print("STARTED " + json.dumps(info), flush=True)
if info["cuda"]:
    props = torch.cuda.get_device_properties(0)
    info.update(count=torch.cuda.device_count(), uuid=str(props.uuid), name=props.name)
    x = torch.randn(2048, 2048, device="cuda")
    held = torch.empty(512 * 2**20, dtype=torch.uint8, device="cuda")  # 512 MiB that NVML must show
    while time.time() < start + hold:
        x = (x @ x).tanh()
        torch.cuda.synchronize()
else:
    time.sleep(hold)
info["end"] = time.time()
print("RESULT " + json.dumps(info), flush=True)
"""


@pytest.fixture
def trio_config() -> dict:
    return {"gpus": "auto", "max_cpu_jobs": 2}


def _lines(log: str, prefix: str) -> list[dict]:
    return [json.loads(line[len(prefix) :]) for line in log.splitlines() if line.startswith(prefix)]


async def _hold_task(api, script, tag: str, hold: float, gpus: int) -> str:
    await api("POST", "trio/api/workspace/shell")
    status, created = await api(
        "POST",
        "trio/api/generator/create",
        {
            "name_prefix": tag,
            "mode": "shell",
            "shell_text": f"{sys.executable} {script} {tag} {hold}",
            "run": True,
            "gpus": gpus,
        },
    )
    assert status == 201, created
    return created["items"][0]["name"]


async def test_server_queues_gpu_jobs_per_gpu_and_runs_cpu_jobs_beside_them(api, wait_task, tmp_path):
    pytest.importorskip("torch")
    script = tmp_path / "hold.py"
    script.write_text(HOLD_JOB)
    status, health = await api("GET", "trio/api/health")
    assert [g["uuid"] for g in health["gpus"]] == [g.uuid for g in GPUS]
    gpu_names = [await _hold_task(api, script, f"g{i}", 4, gpus=1) for i in range(len(GPUS) + 1)]
    cpu_name = await _hold_task(api, script, "cpu", 3, gpus=0)
    results = {}
    for name in [*gpu_names, cpu_name]:
        task = await wait_task(name, "completed", "failed", timeout=240)
        _, log = await api("GET", f"trio/api/tasks/{name}/logs")
        assert task["status"] == "completed", log["content"][-2000:]
        results[name] = (task, _lines(log["content"], "RESULT ")[0])
    spans = []
    for name in gpu_names:
        task, out = results[name]
        gpu = GPUS[task["assigned_gpus"][0]]
        assert out["cuda"] and out["count"] == 1 and out["order"] == "PCI_BUS_ID"
        assert out["cvd"] == str(gpu.index)
        assert gpu.uuid.endswith(out["uuid"]), (gpu.uuid, out["uuid"])  # the very GPU NVML listed
        spans.append((out["start"], out["end"]))
    for start, _ in spans:  # never more GPU jobs at once than GPUs
        assert sum(1 for s, e in spans if s <= start < e) <= len(GPUS), spans
    cpu_task, cpu = results[cpu_name]
    assert cpu["cvd"] == "" and not cpu["cuda"] and cpu_task["assigned_gpus"] == []
    assert any(s < cpu["end"] and cpu["start"] < e for s, e in spans), "the CPU job waited for a GPU job"
    print(
        f"GPU spans {[(round(s - spans[0][0], 2), round(e - spans[0][0], 2)) for s, e in spans]}, "
        f"CPU job {round(cpu['start'] - spans[0][0], 2)}..{round(cpu['end'] - spans[0][0], 2)} s"
    )


async def test_cancel_of_a_gpu_job_frees_its_gpu_for_the_queued_one(api, wait_task, tmp_path):
    pytest.importorskip("torch")
    from jupyter_trio.runner.gpus import gpu_memory

    script = tmp_path / "hold.py"
    script.write_text(HOLD_JOB)
    baseline = {m["index"]: m["used"] for m in gpu_memory()}
    hogs = [await _hold_task(api, script, f"hog{i}", 600, gpus=1) for i in range(len(GPUS))]
    waiting = await _hold_task(api, script, "next", 1, gpus=1)
    for name in hogs:
        await wait_task(name, "running")
    # each hog holds >= 512 MiB on its GPU, as NVML sees it
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        used = {m["index"]: m["used"] for m in gpu_memory()}
        if all(used[i] - baseline[i] >= 512 * 2**20 for i in baseline):
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError(f"GPU memory never rose: {baseline} -> {used}")
    _, task = await api("GET", f"trio/api/tasks/{waiting}")
    assert task["status"] == "queued"
    cancelled_at = time.time()
    await api("POST", f"trio/api/tasks/{hogs[0]}/cancel")
    await wait_task(hogs[0], "cancelled", timeout=30)
    task = await wait_task(waiting, "completed", "failed", timeout=120)
    assert task["status"] == "completed"
    _, log = await api("GET", f"trio/api/tasks/{waiting}/logs")
    started = _lines(log["content"], "STARTED ")[0]
    deadline = time.monotonic() + 30
    while True:  # the cancelled job's and the finished job's memory are both given back
        above = {m["index"]: m["used"] for m in gpu_memory()}[0] - baseline[0]
        if above < 256 * 2**20 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    for name in hogs[1:]:
        await api("POST", f"trio/api/tasks/{name}/cancel")
    print(
        f"queued job started {started['start'] - cancelled_at:.2f} s after the cancel; "
        f"GPU 0 memory above baseline after it ended: {above / 2**20:.0f} MiB"
    )
    assert started["cvd"] == str(task["assigned_gpus"][0])
    assert above < 256 * 2**20, f"GPU 0 still holds {above / 2**20:.0f} MiB after both jobs ended"

"""The GPU runner on a real NVIDIA machine: NVML discovery, CUDA_VISIBLE_DEVICES assignment, queueing,
and the throughput of a torch training job through the runner vs the same job as a plain process.

    python bench/gpu_runner.py [--steps 400] [--repeats 5]

Needs torch with CUDA and nvidia-ml-py; jupyter-trio is served by a real ``jupyter server`` subprocess
(``jupyter_trio.testing.ServerProcess``) with ``--TrioApp.gpus=auto``. "runner": a shell task with
``gpus: 1`` created over REST; "plain": ``python job.py`` started here with ``CUDA_VISIBLE_DEVICES=0``.
Both are timed by the job itself (images/s over the timed steps, after warm-up), so the ratio is the
runner's cost on the training loop. Also printed: submit-to-start latency, and how two GPU jobs on a
one-GPU machine are serialised (GPU jobs never share a GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_trio.runner.gpus import nvml_gpus
from jupyter_trio.testing import ServerProcess

JOB = r"""
import json, os, sys, time
import torch, torchvision
steps, batch, size = int(sys.argv[1]), 256, 112
torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=10).cuda().to(memory_format=torch.channels_last)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x = torch.randn(batch, 3, size, size, device="cuda").to(memory_format=torch.channels_last)
y = torch.randint(0, 10, (batch,), device="cuda")
def step():
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss
for _ in range(30):
    step()
torch.cuda.synchronize()
start = time.perf_counter()
for _ in range(steps):
    loss = step()
torch.cuda.synchronize()
elapsed = time.perf_counter() - start
print("RESULT " + json.dumps({"images_per_s": steps * batch / elapsed, "loss": float(loss),
      "cvd": os.environ.get("CUDA_VISIBLE_DEVICES"), "t0": time.time()}), flush=True)
"""


def result(log: str) -> dict:
    return json.loads(next(line for line in log.splitlines() if line.startswith("RESULT "))[7:])


def via_runner(http, script: Path, steps: int, prefix: str) -> tuple[dict, float]:
    submitted = time.time()
    created = http.post(
        "/trio/api/generator/create",
        json={
            "name_prefix": prefix,
            "mode": "shell",
            "shell_text": f"{sys.executable} {script} {steps}",
            "run": True,
            "gpus": 1,
        },
    ).json()
    name = created["items"][0]["name"]
    while True:
        task = http.get(f"/trio/api/tasks/{name}").json()
        if task["status"] in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.5)
    log = http.get(f"/trio/api/tasks/{name}/logs").json()["content"]
    assert task["status"] == "completed", log[-2000:]
    return result(log), task["started_at"] - submitted


def plain(script: Path, steps: int) -> dict:
    env = {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "0",
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
        "PYTHONUNBUFFERED": "1",
    }
    out = subprocess.run(
        [sys.executable, str(script), str(steps)], env=env, capture_output=True, text=True, check=True
    )
    return result(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    gpus = nvml_gpus()
    if not gpus:
        sys.exit("no NVIDIA GPU visible to NVML")
    for gpu in gpus:
        print(f"NVML: GPU {gpu.index} {gpu.name} {gpu.uuid} {gpu.memory_total / 2**30:.1f} GiB")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        script = root / "job.py"
        script.write_text(JOB)
        with ServerProcess(root, "--TrioApp.gpus=auto") as server, server.client() as http:
            health = http.get("/trio/api/health").json()
            print("server sees GPUs:", [(g["index"], g["name"]) for g in health["gpus"]])
            http.post("/trio/api/workspace/shell")
            runner_speeds, plain_speeds, latencies = [], [], []
            for i in range(args.repeats):  # interleaved, so drift hits both sides alike
                out, latency = via_runner(http, script, args.steps, f"bench{i}")
                assert out["cvd"] == "0", out
                runner_speeds.append(out["images_per_s"])
                latencies.append(latency)
                plain_speeds.append(plain(script, args.steps)["images_per_s"])
            r, p = statistics.median(runner_speeds), statistics.median(plain_speeds)
            print(f"ResNet18 112px bf16 batch 256, {args.steps} steps x {args.repeats}:")
            print(f"  runner {r:,.0f} images/s  plain {p:,.0f} images/s  ratio {r / p:.3f}")
            print(
                f"  runner runs {[round(s) for s in runner_speeds]}, "
                f"plain runs {[round(s) for s in plain_speeds]}"
            )
            print(f"  submit -> running: median {statistics.median(latencies) * 1000:.0f} ms")
            # two GPU jobs at once on the GPUs there are: the second waits when they are all taken
            created = [
                http.post(
                    "/trio/api/generator/create",
                    json={
                        "name_prefix": f"pair{i}",
                        "mode": "shell",
                        "shell_text": f"{sys.executable} {script} {args.steps}",
                        "run": True,
                        "gpus": 1,
                    },
                ).json()["items"][0]["name"]
                for i in range(len(gpus) + 1)
            ]
            tasks = []
            for name in created:
                while (task := http.get(f"/trio/api/tasks/{name}").json())["status"] not in (
                    "completed",
                    "failed",
                ):
                    time.sleep(0.1)
                tasks.append(task)
            spans = sorted((t["started_at"], t["ended_at"], t["assigned_gpus"]) for t in tasks)
            t0 = spans[0][0]
            print(
                f"  {len(created)} GPU jobs on {len(gpus)} GPU(s): "
                + ", ".join(f"GPU {g} {s - t0:.1f}-{e - t0:.1f}s" for s, e, g in spans)
            )


if __name__ == "__main__":
    main()

"""A run's system metrics (issue 34): its supervisor samples the job's process tree every second into
series of the run — ``sys/cpu``, ``sys/rss``, ``sys/io_read``, ``sys/io_write`` and, for the GPUs it holds,
``sys/gpu<N>_util`` / ``sys/gpu<N>_mem`` — listed and charted with the tracked series, kept after the run,
and off with ``c.LocalExecutor.system_metrics_interval = 0``."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from test_runner import shell_task

from jupyter_trio.runner import sysmetrics
from jupyter_trio.store.metrics import MetricsReader

# about 3 s of one busy core in a child process, holding ~200 MiB, writing 20 MiB to disk
BURN = (
    f'{sys.executable} -c "import time, os\n'
    "block = bytearray(200 * 1024 * 1024)\n"
    "for i in range(0, len(block), 4096): block[i] = 1\n"
    "with open('burn.bin', 'wb') as fh: fh.write(os.urandom(20 << 20)); fh.flush(); os.fsync(fh.fileno())\n"
    "end = time.time() + 3\n"
    "while time.time() < end: pass\n"
    "os.remove('burn.bin')\""
)


async def series(api, name: str) -> dict[str, int]:
    status, index = await api("GET", f"trio/api/tasks/{name}/metrics")
    assert status == 200, index
    return index["series"]


async def test_a_runs_cpu_memory_and_io_are_sampled_every_second(api, wait_task):
    name = await shell_task(api, BURN, prefix="burn")
    task = await wait_task(name, "completed", timeout=60)
    duration = task["ended_at"] - task["started_at"]
    found = await series(api, name)
    for key in ("sys/cpu", "sys/rss", "sys/io_read", "sys/io_write"):
        assert found.get(key, 0) >= int(duration) - 1, (key, found, duration)  # about one point a second
    status, cpu = await api("GET", f"trio/api/tasks/{name}/metrics/sys/cpu")
    assert status == 200
    # a busy core in the grandchild (the shell's python) counts (>30%: the machine may be shared)
    assert max(cpu["values"]) > 30
    assert all(0 <= v <= 100 * (os.cpu_count() or 1) + 5 for v in cpu["values"])
    assert cpu["steps"] == sorted(cpu["steps"]) and cpu["steps"][0] >= 1
    _, rss = await api("GET", f"trio/api/tasks/{name}/metrics/sys/rss")
    assert max(rss["values"]) > 190  # MiB: the 200 MiB block
    _, written = await api("GET", f"trio/api/tasks/{name}/metrics/sys/io_write")
    assert sum(written["values"]) > 10  # MiB/s over ~1 s samples: most of the 20 MiB fsync'ed
    # the run table has them by name (a name with a slash in backticks), not among its default columns
    _, page = await api(
        "GET", "trio/api/runs", params={"where": f"task = {name}", "columns": "`sys/cpu`.max"}
    )
    assert page["runs"][0]["sys/cpu.max"] == max(cpu["values"])
    _, full = await api("GET", "trio/api/runs", params={"where": f"task = {name}"})
    assert not [c["name"] for c in full["columns"] if c["name"].startswith("sys/")]


class FakeGPUs:
    """Stands in for NVML: GPU 3 at 40% with 512 MiB used by the tree."""

    def __init__(self):
        self.asked: list[set[int]] = []

    def read(self, pids: set[int]) -> dict[int, tuple[float, float]]:
        self.asked.append(pids)
        return {3: (40.0, 512.0)}


def test_the_sampler_records_the_gpus_it_holds_and_follows_the_whole_tree(tmp_path):
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
            "'import time; time.sleep(30)']); time.sleep(30)",
        ]
    )
    try:
        deadline = time.monotonic() + 10
        while len(sysmetrics.tree(child.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(sysmetrics.tree(child.pid)) == 2  # the child and its own child
        gpus = FakeGPUs()
        sampler = sysmetrics.SystemSampler(tmp_path, child.pid, 0.2, [3], gpu_reader=gpus).start()
        time.sleep(1.1)
        sampler.stop()
    finally:
        child.kill()
        child.wait()
    assert gpus.asked
    assert all(len(pids) == 2 and child.pid in pids for pids in gpus.asked)
    reader = MetricsReader()
    names = reader.series_names(tmp_path)
    assert names.keys() >= {
        "sys/cpu",
        "sys/rss",
        "sys/io_read",
        "sys/io_write",
        "sys/gpu3_util",
        "sys/gpu3_mem",
    }
    assert reader.series(tmp_path, "sys/gpu3_util").values[0] == 40.0
    assert reader.series(tmp_path, "sys/gpu3_mem").values[0] == 512.0
    assert min(reader.series(tmp_path, "sys/rss").values) > 1  # MiB of two Pythons


async def test_system_metrics_off(api, wait_task, trio_app):
    trio_app.runner.local.system_metrics_interval = 0
    name = await shell_task(api, "sleep 1.5", prefix="quiet")
    await wait_task(name, "completed")
    assert not [k for k in await series(api, name) if k.startswith("sys/")]

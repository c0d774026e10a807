"""The Ray executor, measured against the local one in the same run:

    .venv/bin/python bench/ray_bench.py

1. run request → the job's first statement, local executor vs Ray (a local Ray head, 2 CPUs, started here),
   shared filesystem and not (inputs shipped as working_dir);
2. tracked points/s of one job: the local run-folder path vs the ingest route (no shared filesystem),
   each job tracking POINTS points as fast as it can, then flushing; the figure is points / wall time of
   the job's tracking loop + final flush, and the server's copy is checked to hold every point.

Goal (issue 19): ingest >= 100,000 points/s per job.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from jupyter_trio.testing import RayHead, ServerProcess

LAUNCHES = 5
POINTS = 1_000_000

FIRST_STATEMENT = "import time; print(repr(time.time()), flush=True)\n"
TRACKER = f"""
import time, jupyter_trio as trio
started = time.perf_counter()
for i in range({POINTS}):
    trio.track("x", float(i), step=i)
trio.flush()
from jupyter_trio.tracking import writer
writer.close_writer()
print("elapsed", time.perf_counter() - started, flush=True)
"""


def wait(http, name: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = http.get(f"/trio/api/tasks/{name}").json()
        if task["status"] in ("completed", "failed", "cancelled", "interrupted"):
            return task
        time.sleep(0.02)
    raise RuntimeError(f"{name} did not finish")


def launches(server: ServerProcess, root: Path) -> list[float]:
    (root / "first.py").write_text(FIRST_STATEMENT)
    (root / "config.yaml").write_text("a: 1\n")
    out = []
    with server.client() as http:
        http.post("/trio/api/workspace/run-root", json={"script_path": "first.py"})
        for i in range(LAUNCHES):
            name = http.post(
                "/trio/api/generator/create", json={"name_prefix": f"l{i}", "template_value": {"a": i}}
            ).json()["items"][0]["name"]
            sent = time.time()
            http.post(f"/trio/api/tasks/{name}/run")
            done = wait(http, name)
            assert done["status"] == "completed", done
            first = float(http.get(f"/trio/api/tasks/{name}/logs").json()["content"].strip().splitlines()[0])
            out.append((first - sent) * 1000)
    return out


def tracking(server: ServerProcess, root: Path) -> tuple[float, int]:
    (root / "tracker.py").write_text(TRACKER)
    with server.client() as http:
        http.post("/trio/api/workspace/run-root", json={"script_path": "tracker.py"})
        name = http.post(
            "/trio/api/generator/create",
            json={"name_prefix": "track", "template_value": {"a": 1}, "run": True},
        ).json()["items"][0]["name"]
        done = wait(http, name)
        log = http.get(f"/trio/api/tasks/{name}/logs").json()["content"]
        assert done["status"] == "completed", log[-2000:]
        elapsed = float(next(line for line in log.splitlines() if line.startswith("elapsed")).split()[1])
        series = http.get(f"/trio/api/tasks/{name}/metrics/x", params={"max_points": 10}).json()
        return POINTS / elapsed, (series["last_step"] or 0) + 1  # steps 0..POINTS-1 all arrived


def run(label: str, root: Path, *args: str) -> dict:
    root.mkdir(parents=True)
    with ServerProcess(root, *args) as server:
        times = launches(server, root)
        rate, held = tracking(server, root)
    return {"label": label, "launch": times, "rate": rate, "held": held}


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="trio-rb-", dir="/tmp"))
    results = [run("local", tmp / "local")]
    with RayHead(tmp / "ray", num_cpus=2) as head:
        ray = (
            "--TrioApp.executor=ray",
            f"--TrioApp.ray_address={head.address}",
            f"--TrioApp.ray_python={sys.executable}",
        )
        results.append(run("ray, shared fs", tmp / "shared", *ray))
        results.append(
            run("ray, no shared fs (ingest)", tmp / "copied", *ray, "--TrioApp.ray_shared_filesystem=False")
        )
    print(f"\nrun request -> first statement (ms, {LAUNCHES} launches); tracking ({POINTS:,} points)")
    print(f"{'executor':32} {'p50':>9} {'min':>9} {'max':>9} {'points/s':>12} {'held':>9}")
    for r in results:
        t = r["launch"]
        print(
            f"{r['label']:32} {statistics.median(t):9.0f} {min(t):9.0f} {max(t):9.0f} "
            f"{r['rate']:12,.0f} {r['held']:9,}"
        )
    local = results[0]
    for r in results[1:]:
        slower = statistics.median(r["launch"]) / statistics.median(local["launch"])
        print(
            f"{r['label']}: launch p50 x{slower:.1f} of local; "
            f"tracking x{r['rate'] / local['rate']:.2f} of local"
        )


if __name__ == "__main__":
    main()

"""Runner benchmarks: launch overhead, log latency, batch creation, task-list latency.

    .venv/bin/python bench/runner_bench.py            # jupyter-trio only
    .venv/bin/python bench/runner_bench.py --peer     # and pyruns 0.3.17, side by side (installs it
                                                      # into bench/.peer-venv on first use)

Every figure is measured on this machine in this run; the peer runs the same workload right after.
Goals (issue 3): log latency p50 <= 20 ms, p95 <= 100 ms; task-list p95 <= 20 ms with 10,000 tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

sys.path.insert(0, str(Path(__file__).parent))

from jupyter_trio.testing import ServerProcess

LOG_LINES = 300
LAUNCHES = 15
LIST_REPEATS = 100
BATCH = 10_000

LINE_WRITER = f"""
import time
for i in range({LOG_LINES}):
    print(repr(time.time()), flush=True)
    time.sleep(0.01)
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(values), "p95": pct(values, 95), "n": len(values)}


class TrioTarget:
    """The workload against jupyter-trio's API."""

    name = "jupyter-trio"

    def __init__(self, root: Path):
        self.root = root
        (root / "lines.py").write_text(LINE_WRITER)
        (root / "config.yaml").write_text("a: 1\n")
        self.server = ServerProcess(root, "--TrioApp.max_cpu_jobs=2").start()
        self.http = self.server.client()

    def close(self) -> None:
        self.http.close()
        self.server.stop()

    def wait(self, name: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            task = self.http.get(f"/trio/api/tasks/{name}").json()
            if task["status"] in ("completed", "failed", "cancelled", "interrupted"):
                return task
            time.sleep(0.02)
        raise RuntimeError(f"{name} did not finish")

    def launch_overhead(self) -> list[float]:
        self.http.post("/trio/api/workspace/shell")
        out = []
        for i in range(LAUNCHES):
            name = self.http.post(
                "/trio/api/generator/create",
                json={"name_prefix": f"launch{i}", "mode": "shell", "shell_text": "echo $EPOCHREALTIME"},
            ).json()["items"][0]["name"]
            sent = time.time()
            self.http.post(f"/trio/api/tasks/{name}/run")
            self.wait(name)
            started = float(self.http.get(f"/trio/api/tasks/{name}/logs").json()["content"].strip())
            out.append((started - sent) * 1000)
        return out

    def log_latency(self) -> list[float]:
        self.http.post("/trio/api/workspace/run-root", json={"script_path": "lines.py"})
        name = self.http.post(
            "/trio/api/generator/create", json={"name_prefix": "lat", "template_value": {"a": 1}, "run": True}
        ).json()["items"][0]["name"]
        while self.http.get(f"/trio/api/tasks/{name}").json()["status"] == "queued":
            time.sleep(0.005)
        url = f"ws://127.0.0.1:{self.server.port}/trio/api/tasks/{name}/logs/stream"
        return asyncio.run(
            _ws_latencies(
                HTTPRequest(url, headers={"Authorization": f"token {self.server.token}"}),
                lambda m: m.get("type") == "status",
            )
        )

    def create_batch(self) -> float:
        self.http.post("/trio/api/workspace/run-root", json={"script_path": "lines.py"})
        started = time.perf_counter()
        values = " | ".join(str(i) for i in range(1, 101))  # the same text the peer is given
        reply = self.http.post(
            "/trio/api/generator/create",
            json={"name_prefix": "bulk", "template_value": {"a": values, "b": values}},
            timeout=600,
        )
        assert reply.status_code == 201 and reply.json()["count"] == BATCH, reply.text[:300]
        elapsed = (time.perf_counter() - started) * 1000
        # Task folders are written in the background after the commit; let that finish so the list
        # figures below measure a workspace at rest, as the peer's (which writes them before replying).
        tasks = self.root / ".trio" / "tasks"
        while sum(1 for _ in tasks.glob("*/config.yaml")) < BATCH:
            time.sleep(0.2)
        return elapsed

    def list_queries(self) -> dict[str, dict]:
        queries = {
            "page of 50": {"limit": 50},
            "status filter": {"status": "completed", "limit": 50},
            "sort by name": {"sort": "name", "order": "asc", "limit": 50},
            "offset 9000": {"offset": 9000, "limit": 50},
        }
        out = {}
        for label, params in queries.items():
            self.http.get("/trio/api/tasks", params=params)  # warm
            times = []
            for _ in range(LIST_REPEATS):
                started = time.perf_counter()
                reply = self.http.get("/trio/api/tasks", params=params)
                times.append((time.perf_counter() - started) * 1000)
                assert reply.status_code == 200
            out[label] = summary(times)
        return out


async def _ws_latencies(request, is_final, timeout: float = 60.0) -> list[float]:
    conn = await websocket_connect(request)
    latencies, partial = [], ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            raw = await asyncio.wait_for(conn.read_message(), deadline - time.monotonic())
        except TimeoutError:
            break
        now = time.time()
        if raw is None:
            break
        msg = json.loads(raw)
        if is_final(msg):
            break
        if msg.get("type") != "chunk":
            continue
        text = partial + msg.get("content", "")
        *lines, partial = text.split("\n")
        for line in lines:
            try:
                latencies.append((now - float(line)) * 1000)
            except ValueError:
                pass
        if len(latencies) >= LOG_LINES:
            break
    conn.close()
    return latencies


def run_target(target) -> dict:
    results = {}
    try:
        results["launch overhead (ms)"] = summary(target.launch_overhead())
        lat = target.log_latency()
        if len(lat) < LOG_LINES:
            raise RuntimeError(f"{target.name}: only {len(lat)} of {LOG_LINES} log lines arrived")
        results["log latency (ms)"] = summary(lat)
        results[f"create {BATCH} tasks (ms)"] = {"once": target.create_batch()}
        for label, stats in target.list_queries().items():
            results[f"list, {label}, {BATCH} tasks (ms)"] = stats
    finally:
        target.close()
    return results


def show(ours: dict, peer: dict | None, peer_name: str) -> None:
    print(f"\n{'benchmark':<46} {'jupyter-trio':>22} {peer_name if peer else '':>22} {'ratio':>8}")
    for key, stats in ours.items():

        def fmt(s: dict) -> str:
            if "once" in s:
                return f"{s['once']:.0f}"
            return f"p50 {s['p50']:.1f} p95 {s['p95']:.1f}"

        line = f"{key:<46} {fmt(stats):>22}"
        if peer and key in peer:
            other = peer[key]
            a = stats.get("once", stats.get("p50"))
            b = other.get("once", other.get("p50"))
            line += f" {fmt(other):>22} {b / a if a else float('nan'):>7.1f}x"
        print(line)
    if peer:
        print(
            "\nratio = peer / jupyter-trio on the median (or the single figure): above 1 means "
            "jupyter-trio is faster."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", action="store_true", help="also run pyruns 0.3.17 on the same workload")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "trio"
        root.mkdir()
        ours = run_target(TrioTarget(root))
        peer = None
        if args.peer:
            from peer_pyruns import PyrunsTarget

            proot = Path(tmp) / "pyruns"
            proot.mkdir()
            # Fewer list repeats for the peer: its filtered and deep-offset pages take seconds each.
            peer = run_target(PyrunsTarget(proot, LINE_WRITER, LAUNCHES, 20, BATCH))
    show(ours, peer, "pyruns 0.3.17")
    print(json.dumps({"jupyter-trio": ours, "pyruns": peer}, indent=1))


if __name__ == "__main__":
    main()

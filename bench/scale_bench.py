"""The workspace at scale: every task-list query at 100,000 tasks, and server start with 10,000 training runs
that have checkpoint folders.

    .venv/bin/python bench/scale_bench.py [--tasks 100000] [--runs 10000]

The store is filled directly (one transaction; names like pyruns batches: ``sweep_00042-lr0.01``), a real
``jupyter server`` is started on it twice (the first start indexes every checkpoint folder once, the
second is what every later start costs), and each query is timed LIST_REPEATS times over loopback.
Goals (issue 20): every list query p95 <= 20 ms at 100,000 tasks; start <= 1 s with 10,000 runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from jupyter_trio.domain import NewTask
from jupyter_trio.store import Store
from jupyter_trio.testing import ServerProcess

LIST_REPEATS = 100

QUERIES = {
    "page of 50": {"limit": 50},
    "offset 90,000": {"offset": 90_000, "limit": 50},
    "status filter": {"status": "completed", "limit": 50},
    "name search + sort by name": {"name": "lr0.01", "sort": "name", "order": "asc", "limit": 50},
    "rare name search": {"name": "sweep_04242", "limit": 50},
    "sort by name": {"sort": "name", "order": "asc", "limit": 50},
    "sort by updated": {"sort": "updated_at", "limit": 50},
    "sort by priority": {"sort": "priority", "limit": 50},
    "sort by status": {"sort": "status", "limit": 50},
    "status filter + sort by name": {"status": "completed", "sort": "name", "limit": 50},
}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def fill(workspace: Path, tasks: int, runs: int) -> None:
    store = Store(workspace)
    lrs = ["0.1", "0.01", "0.001", "0.0001"]
    new = [
        NewTask(name=f"sweep_{i:05d}-lr{lrs[i % 4]}", kind="train" if i < runs else "shell", owner="me")
        for i in range(tasks)
    ]
    with store.db.transaction() as conn:
        ids = store.tasks.insert_many(conn, new)
        now = time.time() - 86_400
        conn.executemany(
            "UPDATE tasks SET status = ?, last_run = 1, priority = ? WHERE id = ?",
            [("completed" if i % 3 else "failed", i % 7, task_id) for i, task_id in enumerate(ids)],
        )
        conn.executemany(
            "INSERT INTO runs(task_id, run_index, status, queued_at, started_at, ended_at, exit_code) "
            "VALUES (?, 1, ?, ?, ?, ?, 0)",
            [(task_id, "completed", now, now, now + 60) for task_id in ids],
        )
    for task_id in ids[:runs]:
        folder = store.layout.task_dir(task_id) / "checkpoints" / "epoch_1"
        folder.mkdir(parents=True)
        (folder / "state.json").write_text(json.dumps({"epoch": 1, "time": now}))
        (folder / "model.pdopt").write_bytes(b"o")
        (folder / "model.pdparams").write_bytes(b"w")
    store.close()


def start_time(root: Path) -> float:
    server = ServerProcess(root, "--TrioApp.gpus=none")
    started = time.perf_counter()
    server.start(timeout=600)
    elapsed = time.perf_counter() - started
    server.stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="trio-scale-")) / "root"
    root.mkdir()
    began = time.perf_counter()
    fill(root / ".trio", args.tasks, args.runs)
    took = time.perf_counter() - began
    print(f"filled {args.tasks:,} tasks ({args.runs:,} training runs, a checkpoint each) in {took:.1f} s")
    empty = root.parent / "empty"
    empty.mkdir()
    first = start_time(root)
    second = start_time(root)
    floor_start = start_time(empty)
    print(
        f"\nserver start to healthy: first start {first:.2f} s (indexes every checkpoint folder once), "
        f"later starts {second:.2f} s; an empty workspace {floor_start:.2f} s"
    )
    with ServerProcess(root, "--TrioApp.gpus=none") as server, server.client() as http:
        print(f"\ntask list at {args.tasks:,} tasks ({LIST_REPEATS} calls each), ms")
        print(f"{'query':32} {'p50':>7} {'p95':>7} {'total':>8}")
        for label, params in QUERIES.items():
            reply = http.get("/trio/api/tasks", params=params)  # warm
            assert reply.status_code == 200, reply.text
            total = reply.json()["total"]
            times = []
            for _ in range(LIST_REPEATS):
                t0 = time.perf_counter()
                http.get("/trio/api/tasks", params=params)
                times.append((time.perf_counter() - t0) * 1000)
            print(f"{label:32} {statistics.median(times):7.1f} {pct(times, 95):7.1f} {total:8,}")


if __name__ == "__main__":
    main()

"""The same training through the runner and as a plain process: images/s side by side.

    python bench/overhead.py [--epochs 6] [--repeats 2]

"runner": a train task queued on the real Runner (shim supervisor, log relay, run folders), exactly
as the server runs it. "plain": ``python -m jupyter_trio.trainers.job`` started directly with the same
config and environment. Throughput is the median of the per-step ``speed`` the trainer tracks
(images/s, data loading excluded), and the wall time of the whole job is shown too. Target: ratio >= 0.97.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from quality import prepared

from jupyter_trio.runner.service import Runner
from jupyter_trio.services.projects import ProjectService
from jupyter_trio.services.training import TrainingService
from jupyter_trio.store import Store
from jupyter_trio.store.metrics import MetricsReader

PARAMS = {
    "model": "MobileNetV3_small",
    "image_shape": [64, 64],
    "batch_size": 32,
    "learning_rate": 0.01,
    "save_interval_epochs": 1000,
}


def setup(root: Path, epochs: int) -> tuple[Store, Runner, TrainingService, str]:
    store = Store(root / "workspace")
    runner = Runner(store, gpus=[], max_cpu_jobs=1, root_dir=root, cancel_grace_s=5)
    runner.try_lead()
    projects = ProjectService(store, runner)
    training = TrainingService(store, runner, projects)
    dataset = projects.create_dataset("bench", "shapes", "", "classification")
    folder = store.root / dataset["path"]
    shutil.rmtree(folder)
    shutil.copytree(prepared("classification", root / "prep"), folder)
    store.datasets.update(dataset["id"], status="split")
    project = projects.create_project("bench", "p", "", "classification")
    projects.bind_dataset(project["id"], dataset["id"])
    task = training.create("bench", project["id"], {**PARAMS, "num_epochs": epochs})
    return store, runner, training, task["id"]


def through_runner(store: Store, runner: Runner, training: TrainingService, tid: str) -> tuple[Path, float]:
    training.start(tid)
    started = time.perf_counter()
    while True:
        runner.tick()
        task = store.tasks.get(tid)
        if task.status in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.05)
    wall = time.perf_counter() - started
    assert task.status == "completed", task
    return store.layout.run_dir(tid, task.run_index), wall


def plain(store: Store, runner: Runner, tid: str, run_index: int) -> tuple[Path, float]:
    task = store.tasks.get(tid)
    run_dir = store.layout.run_dir(tid, run_index)
    run_dir.mkdir(parents=True)
    argv, cwd = runner.command_for(task)
    env = {**os.environ, **runner.env_for(task, run_index, run_dir, [])}
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return run_dir, time.perf_counter() - started


def speed(run_dir: Path) -> float:
    values = MetricsReader().series(run_dir, "speed").values
    return statistics.median(v for v in values if v is not None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="trio-overhead-"))
    try:
        store, runner, training, tid = setup(root, args.epochs)
        rows = {"runner": [], "plain": []}
        for i in range(args.repeats):  # interleaved, so drift in machine load hits both alike
            run_dir, wall = through_runner(store, runner, training, tid)
            rows["runner"].append((speed(run_dir), wall))
            run_dir, wall = plain(store, runner, tid, 1000 + i)
            rows["plain"].append((speed(run_dir), wall))
        for name, values in rows.items():
            print(
                f"{name:7s} images/s {statistics.median(v[0] for v in values):7.1f}   "
                f"job wall {statistics.median(v[1] for v in values):6.1f} s   ({len(values)} runs)"
            )
        ratio = statistics.median(v[0] for v in rows["runner"]) / statistics.median(
            v[0] for v in rows["plain"]
        )
        print(f"runner / plain images/s = {ratio:.3f} (target >= 0.97)")
        runner.release()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Data-parallel CPU training vs one process: the same train task with ``cpu_processes`` 1 and 2.

    python bench/data_parallel.py [--epochs 4] [--repeats 2] [--model MobileNetV3_small]

Both run as runner tasks (``max_cpu_jobs`` 1, so the job's share is every core): one process with
``OMP_NUM_THREADS`` = cores, or two gloo ranks with half the threads each, averaging gradients every step.
Printed: the median tracked speed (images/s of the whole global batch), the job's wall time (start-up,
evaluation and checkpoints included) and the val top-1 at the last epoch.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from overhead import PARAMS, setup, speed, through_runner

from jupyter_trio.trainers.checkpoints import checkpoint_dir, read_state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--model", default=PARAMS["model"])
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="trio-dp-bench-"))
    try:
        store, runner, training, first = setup(root, args.epochs)
        pid = store.tasks.get(first).project_id
        rows: dict[int, list[tuple[float, float, float]]] = {1: [], 2: []}
        for _ in range(args.repeats):  # interleaved, so drift in machine load hits both alike
            for processes in rows:
                task = training.create(
                    "bench",
                    pid,
                    {**PARAMS, "model": args.model, "num_epochs": args.epochs, "cpu_processes": processes},
                )
                run_dir, wall = through_runner(store, runner, training, task["id"])
                state = read_state(checkpoint_dir(store.layout.task_dir(task["id"]), args.epochs))
                rows[processes].append((speed(run_dir), wall, state["eval_metrics"]["acc1"]))
        for processes, values in rows.items():
            print(
                f"cpu_processes={processes}: images/s {statistics.median(v[0] for v in values):6.1f}   "
                f"job wall {statistics.median(v[1] for v in values):6.1f} s   "
                f"val top-1 {[round(v[2], 3) for v in values]}   ({len(values)} runs)"
            )
        ratio = statistics.median(v[0] for v in rows[2]) / statistics.median(v[0] for v in rows[1])
        print(f"2 processes / 1 process images/s = {ratio:.3f}")
        runner.release()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

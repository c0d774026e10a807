"""The process a ``train`` task runs: ``python -m jupyter_trio.trainers.job``.

Reads the task's frozen config (``TRIO_CONFIG``: action, task_type, dataset_dir, params) and, for a
resumed run, ``resume.json`` of the task folder (written by the server: the run index and epoch to
resume from). CPU threads follow ``OMP_NUM_THREADS``, which the runner sets to the job's share of
the cores. Progress goes to stdout as PaddleX-style log lines, to ``track`` (loss, lr, speed,
eta_s, eval_*) and to ``record`` (stage, epoch, best, eval metrics, error) — what the metrics routes read.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from .. import tracking


def resume_epoch(task_dir: Path, run_index: int | None) -> int | None:
    path = task_dir / "resume.json"
    if not path.is_file():
        return None
    wanted = json.loads(path.read_text())
    return int(wanted["epoch"]) if wanted.get("run") == run_index else None


def train(config: dict) -> None:
    from .engine import Engine

    task_dir = Path(tracking.get_task_dir() or ".")
    engine = Engine(config["task_type"], config["params"], Path(config["dataset_dir"]), task_dir,
                    log=lambda line: print(line, flush=True))
    start = resume_epoch(task_dir, tracking.get_run_index())
    tracking.record(stage="training", num_epochs=engine.params.num_epochs, steps_per_epoch=engine.steps_per_epoch,
                    resumed_from=start, error=None, flush=True)

    def on_epoch(info: dict) -> None:
        tracking.record(epoch=info["epoch"], best=info["best"], eval_metrics=info["eval_metrics"], flush=True)

    result = engine.train(resume_epoch=start, on_epoch=on_epoch, track=tracking.track)
    tracking.record(stage="done", epoch=result["epoch"], best=result["best"], flush=True)


def main() -> int:
    config = tracking.read().to_dict()
    action = config.get("action", "train")
    try:
        if action != "train":
            raise ValueError(f"unknown action {action!r}")
        train(config)
    except Exception as exc:  # the job's last word goes to the record and the log, then a non-zero exit
        tracking.record(stage="failed", error=f"{type(exc).__name__}: {exc}", flush=True)
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Checkpoints of a train task: ``<task>/checkpoints/epoch_<n>/`` (training: weights + optimizer + state,
resumable) and ``best_model/`` (sampler: weights only, the best evaluation so far).

``state.json`` holds what a checkpoint needs to be used without the task: task type, labels, the
parameters, the epoch and global step, the evaluation metrics and the best metric so far.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

EPOCH_DIR = re.compile(r"epoch_(\d+)$")
BEST = "best_model"


def checkpoint_root(task_dir: Path) -> Path:
    return Path(task_dir) / "checkpoints"


def complete_checkpoints(task_dir: Path) -> list[tuple[Path, str, int | None]]:
    """(folder, kind, epoch from the name) of each complete checkpoint: ``epoch_<n>`` with state and optimizer
    (``training``), ``best_model`` with state (``sampler``). Half-written ``.<name>.tmp`` folders never
    match."""
    root = checkpoint_root(task_dir)
    if not root.is_dir():
        return []
    out: list[tuple[Path, str, int | None]] = []
    for child in root.iterdir():
        m = EPOCH_DIR.match(child.name)
        if m and (child / "state.json").is_file() and (child / "model.pdopt").is_file():
            out.append((child, "training", int(m.group(1))))
        elif child.name == BEST and (child / "state.json").is_file():
            out.append((child, "sampler", None))
    return out


def saved_epochs(task_dir: Path) -> list[int]:
    """Epochs with a complete training checkpoint, ascending."""
    return sorted(epoch for _, kind, epoch in complete_checkpoints(task_dir) if kind == "training")


def checkpoint_dir(task_dir: Path, epoch: int | str | None) -> Path:
    """The folder of ``epoch`` (an int), or of the best model (``None`` / ``"best"``)."""
    root = checkpoint_root(task_dir)
    if epoch is None or epoch == "best":
        path = root / BEST
    else:
        path = root / f"epoch_{int(epoch)}"
    if not (path / "state.json").is_file():
        what = "a best model" if path.name == BEST else f"a checkpoint for epoch {epoch}"
        raise FileNotFoundError(f"the task has no {what} (saved epochs: {saved_epochs(task_dir) or 'none'})")
    return path


# the files of a checkpoint folder (weights, optimizer state of a resumable one, what it is)
WEIGHTS, OPTIMIZER, STATE = "model.pdparams", "model.pdopt", "state.json"


def has_weights(folder: Path) -> bool:
    """The folder holds model weights (a checkpoint or kept pretrained weights, not an exported model)."""
    return (Path(folder) / WEIGHTS).is_file()


def has_state(folder: Path) -> bool:
    return (Path(folder) / STATE).is_file()


def checkpoint_kind(folder: Path, state: dict[str, Any]) -> str:
    """``training`` (resumable: it keeps the optimizer state) or ``sampler`` (weights only)."""
    return state.get("kind") or ("training" if (Path(folder) / OPTIMIZER).is_file() else "sampler")


def read_state(folder: Path) -> dict[str, Any]:
    return json.loads((Path(folder) / STATE).read_text())


def write_checkpoint(
    folder: Path,
    state: dict[str, Any],
    save: Any,
    model_state: dict,
    opt_state: dict | None,
    extra: dict[str, dict] | None = None,
) -> None:
    """Write into a temporary folder, then rename: a checkpoint is complete or absent. ``extra`` maps
    further file names to state dicts saved beside the weights."""
    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save(model_state, str(tmp / WEIGHTS))
    if opt_state is not None:
        save(opt_state, str(tmp / OPTIMIZER))
    for name, extra_state in (extra or {}).items():
        save(extra_state, str(tmp / name))
    (tmp / STATE).write_text(json.dumps(state, indent=1))
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, folder)

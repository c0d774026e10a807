"""The process a ``train`` task runs: ``python -m jupyter_trio.trainers.job``.

Reads the task's frozen config (``TRIO_CONFIG``: action, task_type, dataset_dir, params) and, for a
resumed run, ``resume.json`` of the task folder (written by the server: the run index and epoch to
resume from). CPU threads follow ``OMP_NUM_THREADS``, which the runner sets to the job's share of
the cores. A train or prune job given several GPUs (or ``cpu_processes`` > 1) launches that many ranks of
itself and waits for them (``distributed.py``). Progress goes to stdout as PaddleX-style log lines, to
``track`` (loss, lr, speed,
eta_s, eval_*) and to ``record`` (stage, epoch, best, eval metrics, error) — what the metrics routes read.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from .. import tracking
from . import distributed


def resume_epoch(task_dir: Path, run_index: int | None) -> int | None:
    path = task_dir / "resume.json"
    if not path.is_file():
        return None
    wanted = json.loads(path.read_text())
    return int(wanted["epoch"]) if wanted.get("run") == run_index else None


def _log(line: str) -> None:
    print(line, flush=True)


def _quiet(line: str) -> None:
    """Data-parallel ranks other than 0 keep the task log to rank 0's lines."""


def train(config: dict) -> None:
    from .engine import Engine

    task_dir = Path(tracking.get_task_dir() or ".")
    leader = distributed.current().leader
    engine = Engine(
        config["task_type"],
        config["params"],
        Path(config["dataset_dir"]),
        task_dir,
        log=_log if leader else _quiet,
    )
    start = resume_epoch(task_dir, tracking.get_run_index())
    if not leader:
        engine.train(resume_epoch=start)
        return
    tracking.record(
        stage="training",
        num_epochs=engine.params.num_epochs,
        steps_per_epoch=engine.steps_per_epoch,
        resumed_from=start,
        error=None,
        flush=True,
    )

    def on_epoch(info: dict) -> None:
        tracking.record(epoch=info["epoch"], best=info["best"], eval_metrics=info["eval_metrics"], flush=True)

    result = engine.train(resume_epoch=start, on_epoch=on_epoch, track=tracking.track)
    tracking.record(stage="done", epoch=result["epoch"], best=result["best"], flush=True)


def sensitivity(config: dict) -> None:
    """Sensitivity analysis of a trained task's checkpoint (written into ``<task>/prune/``)."""
    from .checkpoints import checkpoint_dir, read_state
    from .engine import Engine
    from .prune import RATIOS, save_analysis
    from .prune import sensitivity as analyse

    parent = Path(config["parent_task_dir"])
    state = read_state(checkpoint_dir(parent, config.get("epoch")))
    engine = Engine(
        state["task_type"],
        state["params"],
        Path(config["dataset_dir"]),
        parent,
        log=lambda line: print(line, flush=True),
    )
    engine.load(config.get("epoch"))
    tracking.record(stage="analysing", progress=0.0, flush=True)

    def progress(fraction: float) -> None:
        tracking.track(progress=fraction)
        print(f"[PRUNE] sensitivity analysis {fraction:.0%}", flush=True)

    analysis = analyse(engine, tuple(config.get("ratios") or RATIOS), config.get("max_layers"), progress)
    save_analysis(analysis, parent / "prune")
    tracking.record(
        stage="done", progress=1.0, baseline=analysis["baseline"], metric=analysis["metric"], flush=True
    )


def prune(config: dict) -> None:
    """Prune a trained task by its sensitivities for the allowed metric loss, then fine-tune."""
    from .engine import Engine
    from .prune import Masks, model_cost, prunable, ratios_for

    task_dir = Path(tracking.get_task_dir() or ".")
    parent = Path(config["parent_task_dir"])
    analysis_file = parent / "prune" / "sensitivities.json"
    if not analysis_file.is_file():
        raise FileNotFoundError(
            f"the parent task has no sensitivity analysis ({analysis_file}); run it first"
        )
    analysis = json.loads(analysis_file.read_text())
    leader = distributed.current().leader
    engine = Engine(
        config["task_type"],
        # the fine-tune starts from the parent's weights, never again from its pretrained ones
        {**config["params"], "pretrain_weights": None},
        Path(config["dataset_dir"]),
        task_dir,
        log=_log if leader else _quiet,
    )
    start = resume_epoch(task_dir, tracking.get_run_index())
    before = model_cost(engine)  # shapes only: the same whatever the weights
    if start is None:
        from .checkpoints import checkpoint_dir

        engine.load_pretrained(checkpoint_dir(parent, config.get("parent_epoch")))
    else:
        engine.load(start)
    ratios = ratios_for(analysis, float(config.get("eval_metric_loss", engine.params.eval_metric_loss)))
    masks = Masks(prunable(engine), ratios)
    masks.apply()
    after = model_cost(engine, masks)
    if not leader:
        engine.train(resume_epoch=start, after_step=masks.apply)
        return
    print(
        f"[PRUNE] {len(masks.keep)} layers pruned; params {before['params']} -> {after['params']}, "
        f"FLOPs {before['flops']} -> {after['flops']}",
        flush=True,
    )
    tracking.record(
        stage="training",
        ratios=ratios,
        params_before=before["params"],
        params_after=after["params"],
        flops_before=before["flops"],
        flops_after=after["flops"],
        resumed_from=start,
        error=None,
        flush=True,
    )
    result = engine.train(
        resume_epoch=start,
        track=tracking.track,
        after_step=masks.apply,
        on_epoch=lambda info: tracking.record(
            epoch=info["epoch"], best=info["best"], eval_metrics=info["eval_metrics"], flush=True
        ),
    )
    tracking.record(stage="done", epoch=result["epoch"], best=result["best"], flush=True)


def _from_checkpoint(config: dict):
    from .engine import Engine

    return Engine.from_checkpoint(
        Path(config["parent_task_dir"]), config.get("epoch"), log=lambda line: print(line, flush=True)
    )


def evaluate(config: dict) -> None:
    """Evaluate a checkpoint (an epoch, or the best) on the val or test split →
    ``<task>/evaluate/result.json``."""
    from .data import DatasetView

    engine = _from_checkpoint(config)
    split = config.get("split", "val")
    view = DatasetView(Path(config["dataset_dir"]), split)
    if not len(view):
        raise ValueError(f"the {split} split of the dataset is empty")
    tracking.record(stage="evaluating", split=split, flush=True)
    metrics = engine.evaluate(
        view,
        topk=int(config.get("topk") or 5),
        score_thresh=float(config.get("score_thresh") or 0.01),
        overlap_thresh=float(config.get("overlap_thresh") or 0.5),
    )
    out = Path(config["parent_task_dir"]) / "evaluate"
    out.mkdir(parents=True, exist_ok=True)
    result = {"epoch": config.get("epoch") or "best", "split": split, "metrics": metrics}
    (out / "result.json").write_text(json.dumps(result, indent=1))
    print(
        "[EVAL] " + ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if isinstance(v, float)), flush=True
    )
    tracking.record(stage="done", result=result, flush=True)


def predict(config: dict) -> None:
    """Predict images (files or folders) → visualisations and ``result.json`` in ``out_dir``."""
    from .inference import image_files, predict_paths

    engine = _from_checkpoint(config)
    paths = [p for item in config["inputs"] for p in image_files(Path(item))]
    out = Path(config["out_dir"])
    results = predict_paths(engine, paths, out, score_thresh=float(config.get("score_thresh", 0.5)))
    (out / "result.json").write_text(json.dumps(results))
    print(f"[PREDICT] {len(results)} image(s) -> {out}", flush=True)
    tracking.record(stage="done", out_dir=str(out), count=len(results), flush=True)


QUANT_CALIBRATION_IMAGES = 64  # from the train split; the agreement check uses up to as many val images


def export(config: dict) -> None:
    """Export a checkpoint: ``infer`` (Paddle inference model), ``onnx`` (that, converted), ``lite``
    (refused);
    ``quant`` adds the int8 ONNX model (either type), calibrated on training images."""
    from .export import export_inference, export_lite, export_onnx, quantize_onnx

    kind = config.get("type", "infer")
    if kind == "lite":
        export_lite()
    engine = _from_checkpoint(config)
    save_dir = Path(config["save_dir"])
    meta = export_inference(engine, save_dir)
    quant = bool(config.get("quant"))
    files = export_onnx(save_dir) if kind == "onnx" or quant else []
    quantization = None
    if quant:
        print("[EXPORT] post-training quantization: calibrating on training images", flush=True)
        quantization = quantize_onnx(save_dir, *_quant_images(engine, Path(config["dataset_dir"])))
        files.append(save_dir / quantization["file"])
        tracking.record(quantization=quantization, flush=True)
        print(
            f"[EXPORT] int8 model {quantization['int8_bytes']} bytes (float {quantization['float_bytes']}); "
            f"argmax agreement with the float model {quantization['argmax_agreement']:.4f} on "
            f"{quantization['held_out_images']} held-out images",
            flush=True,
        )
    print(f"[EXPORT] {kind} model of epoch {config.get('epoch') or 'best'} -> {save_dir}", flush=True)
    tracking.record(
        stage="done",
        save_dir=str(save_dir),
        export=meta,
        onnx=[str(f) for f in files],
        quantization=quantization,
        flush=True,
    )


def _quant_images(engine, dataset_dir: Path):
    """(calibration batches from the train split, held-out images from val or test), preprocessed as for
    evaluation."""
    import numpy as np

    from .data import DatasetView, batches, held_out_view

    def take(view: DatasetView) -> list:
        out, count = [], 0
        for _, arrays in batches(view, engine.params, 0, train=False, batch_size=16):
            out.append(arrays[0][: QUANT_CALIBRATION_IMAGES - count])
            count += len(out[-1])
            if count >= QUANT_CALIBRATION_IMAGES:
                break
        return out

    calibration = take(DatasetView(dataset_dir, "train"))
    held = held_out_view(dataset_dir)
    if not calibration or not len(held):
        raise ValueError("quantization needs training images to calibrate on and val or test images to check")
    return calibration, np.concatenate(take(held))


ACTIONS = {
    "train": train,
    "sensitivity": sensitivity,
    "prune": prune,
    "evaluate": evaluate,
    "predict": predict,
    "export": export,
}


def data_parallel_size(config: dict) -> tuple[int, str]:
    """(processes, backend) a train/prune job of this process should be split into; (1, "") otherwise."""
    if config.get("action", "train") not in ("train", "prune") or distributed.current().size > 1:
        return 1, ""  # other actions run in one process; a rank never launches ranks
    from .params import validate

    params = validate(config["task_type"], config["params"])
    return distributed.plan(params.cpu_processes)


def main() -> int:
    config = tracking.read().to_dict()
    action = config.get("action", "train")
    leader = distributed.current().leader
    try:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        size, backend = data_parallel_size(config)
        if size > 1:
            failure = distributed.launch(size, backend)
            if failure is None:
                return 0
            if failure.rank != 0 or failure.code < 0:  # rank 0 records its own exceptions
                tracking.record(stage="failed", error=failure.message(), flush=True)
            print(f"[TRAIN] {failure.message()}", flush=True)
            return 1
        ACTIONS[action](config)
    except Exception as exc:  # the job's last word goes to the record and the log, then a non-zero exit
        if leader:
            tracking.record(stage="failed", error=f"{type(exc).__name__}: {exc}", flush=True)
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

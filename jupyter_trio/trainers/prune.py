"""Filter pruning by L1 norm: sensitivity analysis, per-layer ratios for an allowed metric loss, masks
kept through fine-tuning, and parameter/FLOP counts before and after.

PaddleSlim does not support Paddle 3.x, so pruning is written with paddle ops. Pruned filters are zeroed
and held at zero during fine-tuning (masks re-applied after every optimizer step): the model keeps its
shapes, so checkpoints, export and the inference code stay the same. The counts report the effective
model — a removed filter takes its weights and its output channel's multiply-adds with it (the next
layer's matching input weights are not discounted, so the savings shown are a lower bound).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import paddle
import paddle.nn as nn
from PIL import Image, ImageDraw

from .engine import BEST_METRIC, Engine
from .visualize import palette

RATIOS = (0.1, 0.2, 0.3, 0.5, 0.7)


def prunable(engine: Engine) -> dict[str, nn.Conv2D]:
    """Ordinary (not depthwise) convolutions, except the output layers whose channels are the classes."""
    outputs = {engine.num_classes, 3 * (5 + engine.num_classes)}
    # the two-stage detectors' anchor outputs, the YOLO heads (PPYOLO's carry its IoU branch too)
    heads = ("rpn.cls", "rpn.reg", "heads.0", "heads.1", "heads.2")
    return {
        name: layer
        for name, layer in engine.model.named_sublayers()
        if isinstance(layer, nn.Conv2D)
        and name not in heads
        and layer._groups == 1
        and layer._out_channels not in outputs
        and layer._out_channels >= 8
    }


def kept_filters(layer: nn.Conv2D, ratio: float) -> np.ndarray:
    """Boolean mask of the filters kept when ``ratio`` of them (lowest L1 norm first) are removed."""
    norms = np.abs(layer.weight.numpy()).reshape(layer.weight.shape[0], -1).sum(axis=1)
    n_remove = int(len(norms) * ratio)
    keep = np.ones(len(norms), bool)
    keep[np.argsort(norms, kind="stable")[:n_remove]] = False
    return keep


class Masks:
    """Per-layer filter masks, applied to weights (and biases) in place."""

    def __init__(self, layers: dict[str, nn.Conv2D], ratios: dict[str, float]):
        self.layers = layers
        self.ratios = {name: r for name, r in ratios.items() if r > 0 and name in layers}
        self.keep = {name: kept_filters(layers[name], r) for name, r in self.ratios.items()}

    @paddle.no_grad()
    def apply(self) -> None:
        for name, keep in self.keep.items():
            layer = self.layers[name]
            shape = [-1] + [1] * (len(layer.weight.shape) - 1)
            mask = paddle.to_tensor(keep.astype("float32")).reshape(shape)
            layer.weight.set_value(layer.weight * mask)
            if layer.bias is not None:
                layer.bias.set_value(layer.bias * paddle.to_tensor(keep.astype("float32")))


def sensitivity(
    engine: Engine,
    ratios: tuple[float, ...] = RATIOS,
    max_layers: int | None = None,
    progress: Callable[[float], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """For each prunable layer and ratio: the relative drop of the evaluation metric when only that
    layer is pruned. Returns ``{"metric", "baseline", "sensitivities": {layer: {ratio: loss}}}``."""
    metric = BEST_METRIC[engine.task_type]
    baseline = engine.evaluate(engine.eval_view)[metric]
    layers = prunable(engine)
    names = list(layers)[:max_layers] if max_layers else list(layers)
    out: dict[str, dict[str, float]] = {}
    total, done = len(names) * len(ratios), 0
    for name in names:
        layer = layers[name]
        saved = layer.weight.numpy().copy(), (layer.bias.numpy().copy() if layer.bias is not None else None)
        out[name] = {}
        for ratio in ratios:
            if stop is not None and stop():
                raise InterruptedError("sensitivity analysis stopped")
            Masks(layers, {name: ratio}).apply()
            value = engine.evaluate(engine.eval_view)[metric]
            out[name][str(ratio)] = float((baseline - value) / baseline) if baseline > 0 else 0.0
            layer.weight.set_value(saved[0])
            if saved[1] is not None:
                layer.bias.set_value(saved[1])
            done += 1
            if progress is not None:
                progress(done / total)
    return {"metric": metric, "baseline": baseline, "ratios": list(ratios), "sensitivities": out}


def ratios_for(analysis: dict[str, Any], eval_metric_loss: float) -> dict[str, float]:
    """The largest analysed ratio per layer whose metric loss stays within ``eval_metric_loss``."""
    chosen = {}
    for name, losses in analysis["sensitivities"].items():
        ok = [float(r) for r, loss in losses.items() if loss <= eval_metric_loss]
        chosen[name] = max(ok, default=0.0)
    return chosen


def model_cost(engine: Engine, masks: Masks | None = None) -> dict[str, int]:
    """Parameters and multiply-adds of one forward pass at the training input size (effective counts)."""
    shapes: dict[str, tuple[int, int]] = {}
    hooks = []
    for name, layer in engine.model.named_sublayers():
        if isinstance(layer, (nn.Conv2D, nn.Conv2DTranspose)):
            hooks.append(
                layer.register_forward_post_hook(
                    lambda lyr, inp, out, name=name: shapes.__setitem__(name, tuple(out.shape[2:]))
                )
            )
    engine.model.eval()
    with paddle.no_grad():
        if engine.task_type in ("detection", "instance_segmentation"):
            engine.model.features(paddle.zeros([1, engine.channels, *engine.params.image_shape]))
        else:
            engine.model(paddle.zeros([1, engine.channels, *engine.params.image_shape]))
    for hook in hooks:
        hook.remove()
    params = int(sum(p.size for p in engine.model.parameters()))
    flops = removed_params = removed_flops = 0
    for name, layer in engine.model.named_sublayers():
        if isinstance(layer, (nn.Conv2D, nn.Conv2DTranspose)) and name in shapes:
            h, w = shapes[name]
            weight = int(layer.weight.size)
            macs = weight * h * w
            flops += macs
            if masks is not None and name in masks.keep:
                frac = 1 - float(masks.keep[name].mean())
                removed_params += int(weight * frac) + (
                    int(layer.bias.size * frac) if layer.bias is not None else 0
                )
                removed_flops += int(macs * frac)
        elif isinstance(layer, nn.Linear):
            flops += int(layer.weight.size)
    return {"params": params - removed_params, "flops": flops - removed_flops}


def plot(analysis: dict[str, Any], path: Path, top: int = 8, size: tuple[int, int] = (640, 400)) -> Path:
    """Metric loss against pruning ratio for the most sensitive layers, as a PNG (Pillow, no matplotlib)."""
    w, h = size
    left, right, top_m, bottom = 60, 190, 20, 40
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    sens = analysis["sensitivities"]
    ranked = sorted(sens, key=lambda n: -max(sens[n].values(), default=0))[:top]
    ratios = [float(r) for r in analysis["ratios"]]
    ymax = max([max(sens[n].values(), default=0) for n in ranked] + [0.05])
    px = lambda r: left + (w - left - right) * r / max(ratios)
    py = lambda v: h - bottom - (h - top_m - bottom) * max(0.0, v) / ymax
    d.line([(left, top_m), (left, h - bottom), (w - right, h - bottom)], fill="black")
    for r in ratios:
        d.text((px(r) - 8, h - bottom + 6), f"{r:.1f}", fill="black")
    for frac in (0, 0.5, 1):
        d.text((5, py(ymax * frac) - 6), f"{ymax * frac:.2f}", fill="black")
    d.text((left, h - 16), f"pruning ratio; y: relative loss of {analysis['metric']}", fill="black")
    for i, (name, color) in enumerate(zip(ranked, palette(len(ranked)))):
        points = [(px(float(r)), py(v)) for r, v in sens[name].items()]
        d.line(points, fill=color, width=2)
        d.text((w - right + 8, top_m + 14 * i), name[-28:], fill=color)
    img.save(path)
    return path


def save_analysis(analysis: dict[str, Any], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sensitivities.json").write_text(json.dumps(analysis, indent=1))
    plot(analysis, folder / "sensitivities.png")

"""Export a trained task as an inference model (``paddle.jit.save``) that ``paddle.inference`` loads.

The folder holds ``model.json`` + ``model.pdiparams`` (the network: classification → class
probabilities; segmentation → logits; detection → the three YOLO head maps; instance segmentation →
the head maps and the stride-8 features, with the RoIAlign mask head exported beside it as
``mask_head.*``) and ``export.json`` (task type, labels, input shape, normalisation, anchors) — all a
deployment needs to pre- and post-process exactly as training did.

PaddleX's "lite" (Paddle-Lite, mobile) export needs the ``paddlelite`` package, which has no build for
this Python; it is refused with a message naming ONNX (``paddle2onnx``) as the alternative.

Post-training quantization (``quant``) makes ``model.int8.onnx`` with onnxruntime's static quantization
(QDQ, int8 per-channel weights, uint8 activations calibrated on training images). Paddle 3.3's own PTQ is
not used: on this CPU build its converted model applies no fake-quant, ``paddle.jit.save`` rejects it with
a dynamic batch and ``paddle.inference`` cannot run it with a fixed one (checked). How closely the int8
model follows the float one on held-out images is measured at export and written to ``export.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.static import InputSpec

from . import rcnn
from .boxes import MASK_SIZE
from .engine import Engine


class _Probabilities(nn.Layer):
    def __init__(self, model: nn.Layer):
        super().__init__()
        self.model = model

    def forward(self, image: paddle.Tensor) -> paddle.Tensor:
        return F.softmax(self.model(image), axis=1)


class _HeadsAndFeatures(nn.Layer):
    def __init__(self, model: nn.Layer):
        super().__init__()
        self.model = model

    def forward(self, image: paddle.Tensor):
        heads, p8 = self.model.features(image)
        return heads[0], heads[1], heads[2], p8


class _Heads(nn.Layer):
    def __init__(self, model: nn.Layer):
        super().__init__()
        self.model = model

    def forward(self, image: paddle.Tensor):
        heads = self.model(image)
        return heads[0], heads[1], heads[2]


def export_inference(engine: Engine, save_dir: Path) -> dict[str, Any]:
    """Write the inference model of ``engine`` into ``save_dir``; returns what export.json says."""
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    engine.model.eval()
    h, w = engine.params.image_shape
    spec = [InputSpec([None, engine.channels, h, w], "float32", "image")]
    if engine.two_stage:
        return _export_two_stage(engine, save_dir, spec)
    wrapper = {
        "classification": _Probabilities,
        "segmentation": lambda m: m,
        "remote_segmentation": lambda m: m,
        "detection": _Heads,
        "instance_segmentation": _HeadsAndFeatures,
    }[engine.task_type](engine.model)
    paddle.jit.save(wrapper, str(save_dir / "model"), input_spec=spec)
    if engine.task_type == "instance_segmentation":
        paddle.jit.save(
            engine.model.mask_head,
            str(save_dir / "mask_head"),
            input_spec=[InputSpec([None, 64, MASK_SIZE // 2, MASK_SIZE // 2], "float32", "rois")],
        )
    meta = {
        **_described(engine),
        "anchors": engine.anchors,
        **(
            {"scale_x_y": engine.model.scale_x_y, "nms": "matrix" if engine.model.matrix_nms else "hard"}
            if engine.task_type in ("detection", "instance_segmentation")
            else {}
        ),
        "outputs": {
            "classification": ["probs"],
            "segmentation": ["logits"],
            "remote_segmentation": ["logits"],
            "detection": ["head32", "head16", "head8"],
            "instance_segmentation": ["head32", "head16", "head8", "p8"],
        }[engine.task_type],
    }
    (save_dir / "export.json").write_text(json.dumps(meta, indent=1))
    return meta


def _export_two_stage(engine: Engine, save_dir: Path, spec: list[InputSpec]) -> dict[str, Any]:
    """FasterRCNN / MaskRCNN in parts: ``model`` (image → feature levels, the RPN's scores and deltas per
    level), ``box_head`` (pooled RoI features → class logits, background first, and class-specific
    deltas) and for MaskRCNN ``mask_head`` (→ 28×28 mask logits per class). Proposals (anchors, decoding,
    NMS) and RoIAlign run between them as export.json describes — the steps
    ``paddle.vision.ops.generate_proposals`` / ``distribute_fpn_proposals`` / ``roi_align`` take."""
    model = engine.model
    paddle.jit.save(model, str(save_dir / "model"), input_spec=spec)
    pooled = [None, rcnn.WIDTH, rcnn.POOL, rcnn.POOL]
    paddle.jit.save(
        model.box_head, str(save_dir / "box_head"), input_spec=[InputSpec(pooled, "float32", "rois")]
    )
    if model.with_mask:
        masked = [None, rcnn.WIDTH, rcnn.MASK_POOL, rcnn.MASK_POOL]
        paddle.jit.save(
            model.mask_head, str(save_dir / "mask_head"), input_spec=[InputSpec(masked, "float32", "rois")]
        )
    levels = [f"p{i + 2}" for i in range(len(model.strides))] if model.with_fpn else ["c4"]
    h, w = engine.params.image_shape
    meta = {
        **_described(engine),
        "outputs": [*levels, *[f"rpn_scores_{lv}" for lv in levels], *[f"rpn_deltas_{lv}" for lv in levels]],
        "two_stage": {
            "with_fpn": model.with_fpn,
            "strides": list(model.strides),
            "anchor_sizes": [list(s) for s in model.sizes],
            "anchor_ratios": list(rcnn.RATIOS),
            "rpn": {
                "pre_nms_top_n": rcnn.PRE_NMS,
                "post_nms_top_n": rcnn.POST_NMS,
                "nms_thresh": rcnn.RPN_NMS,
            },
            "roi_levels": [2, 5] if model.with_fpn else None,
            "refer_scale": rcnn.refer_scale(max(h, w)) if model.with_fpn else None,
            "pool": rcnn.POOL,
            "mask_pool": rcnn.MASK_POOL if model.with_mask else None,
            "box_weights": rcnn.BOX_WEIGHTS.tolist(),
            "box_head": f"box_head.json: rois [R, {rcnn.WIDTH}, {rcnn.POOL}, {rcnn.POOL}] -> class logits "
            "[R, C+1] (0 = background), deltas [R, 4C]",
            "mask_head": f"mask_head.json: rois [R, {rcnn.WIDTH}, {rcnn.MASK_POOL}, {rcnn.MASK_POOL}] -> "
            f"logits [R, C, {MASK_SIZE}, {MASK_SIZE}]"
            if model.with_mask
            else None,
        },
    }
    (save_dir / "export.json").write_text(json.dumps(meta, indent=1))
    return meta


def _described(engine: Engine) -> dict[str, Any]:
    """What every export.json says: the task, its model, and the input a deployment must prepare."""
    h, w = engine.params.image_shape
    return {
        "task_type": engine.task_type,
        "labels": engine.labels,
        "model": engine.params.model,
        "backbone": engine.params.backbone if engine.params.model in BACKBONED_MODELS else None,
        "image_shape": [h, w],
        "channels": engine.channels,
        "image_mean": engine.params.image_mean,
        "image_std": engine.params.image_std,
        **(
            {"image_min": engine.params.image_min, "image_max": engine.params.image_max}
            if engine.task_type == "remote_segmentation"
            else {}
        ),
        "framework": f"paddle {paddle.__version__}",
    }


BACKBONED_MODELS = ("YOLOv3", "PPYOLO", "MaskYOLO", "DeepLabv3p", "FasterRCNN", "MaskRCNN")
# models whose conversion or check kills the process instead of failing
ONNX_CRASHES = {
    "FastSCNN": "converting and checking it ends the process with a floating-point exception (SIGFPE) "
    "in paddle2onnx 2.1 / onnxruntime; use the Paddle inference model (type=infer)",
}


def model_name(meta: dict) -> str:
    return f"{meta['model']} on {meta['backbone']}" if meta.get("backbone") else str(meta.get("model"))


ONNX_TOLERANCE = 1e-3  # relative to the outputs' largest magnitude


def export_onnx(folder: Path, opset: int = 13) -> list[Path]:
    """Convert an exported classification or segmentation model folder to ``model.onnx`` with paddle2onnx
    (extra ``jupyter-trio[onnx]``); its outputs match Paddle's (checked with onnxruntime in the tests).

    The YOLO models are refused: paddle2onnx 2.1 converts them, but the ONNX outputs differ from Paddle's
    (checked numerically), and a silently wrong model is worse than none."""
    meta = json.loads((Path(folder) / "export.json").read_text())
    if meta["task_type"] in ("detection", "instance_segmentation"):
        raise NotImplementedError(
            "ONNX export of detection and instance segmentation models is not supported: "
            "paddle2onnx 2.1 gives outputs that differ from Paddle's; use the Paddle inference "
            "model (type=infer)"
        )
    if meta.get("model") in ONNX_CRASHES:
        raise NotImplementedError(f"ONNX export of {meta['model']} is refused: {ONNX_CRASHES[meta['model']]}")
    try:
        import paddle2onnx
    except ImportError:
        raise NotImplementedError("ONNX export needs paddle2onnx: pip install 'jupyter-trio[onnx]'") from None
    folder = Path(folder)
    target = folder / "model.onnx"
    paddle2onnx.export(
        str(folder / "model.json"),
        str(folder / "model.pdiparams"),
        str(target),
        opset_version=opset,
        verbose=False,
    )
    difference = onnx_difference(folder, target, meta["image_shape"], meta.get("channels", 3))
    if difference is not None and difference > ONNX_TOLERANCE:
        target.unlink()
        raise NotImplementedError(
            f"ONNX export of {model_name(meta)} is refused: paddle2onnx converts it, but the ONNX "
            f"outputs differ from Paddle's by up to {difference:.3g} (checked with onnxruntime on a random "
            "batch); use the Paddle inference model (type=infer)"
        )
    return [target]


def onnx_difference(folder: Path, onnx_file: Path, image_shape: list[int], channels: int = 3) -> float | None:
    """The largest relative difference between the ONNX model's and Paddle's outputs on a random batch;
    ``None`` when onnxruntime is not installed (nothing to check with)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    h, w = image_shape
    batch = np.random.default_rng(0).normal(size=(2, channels, h, w)).astype("float32")
    want = InferenceModel(folder).run(batch)
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: batch})
    if len(got) != len(want) or any(g.shape != x.shape for g, x in zip(got, want)):
        return float("inf")
    return max(float(np.abs(g - x).max() / max(1.0, np.abs(x).max())) for g, x in zip(got, want))


QUANT_FILE = "model.int8.onnx"


def quantize_onnx(folder: Path, calibration: list[np.ndarray], held_out: np.ndarray) -> dict[str, Any]:
    """``model.onnx`` of ``folder`` → ``model.int8.onnx``, calibrated on the ``calibration`` batches
    (preprocessed NCHW float32). Returns the figures also stored under ``quantization`` in export.json:
    sizes, and how the int8 model agrees with the float one on ``held_out`` images (top-1 agreement for
    classification, pixel agreement of the argmax for segmentation, and the largest output difference)."""
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError:
        raise NotImplementedError(
            "quantized export needs onnxruntime: pip install 'jupyter-trio[onnx]'"
        ) from None

    folder = Path(folder)
    source, prepared, target = folder / "model.onnx", folder / "model.prep.onnx", folder / QUANT_FILE

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.pending = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.pending, None)
            return None if batch is None else {"image": batch}

    try:
        quant_pre_process(str(source), str(prepared))
        quantize_static(
            str(prepared),
            str(target),
            Batches(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
        )
    finally:
        prepared.unlink(missing_ok=True)
    float_out = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"]).run(
        None, {"image": held_out}
    )[0]
    int8_out = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"]).run(
        None, {"image": held_out}
    )[0]
    figures = {
        "format": "ONNX QDQ int8 (onnxruntime static quantization, per-channel weights)",
        "file": QUANT_FILE,
        "calibration_images": int(sum(len(b) for b in calibration)),
        "held_out_images": int(len(held_out)),
        "float_bytes": source.stat().st_size,
        "int8_bytes": target.stat().st_size,
        "argmax_agreement": float((float_out.argmax(1) == int8_out.argmax(1)).mean()),
        "max_abs_diff": float(np.abs(float_out - int8_out).max()),
    }
    meta_file = folder / "export.json"
    meta = json.loads(meta_file.read_text())
    meta["quantization"] = figures
    meta_file.write_text(json.dumps(meta, indent=1))
    return figures


def export_lite(*_: Any, **__: Any) -> None:
    raise NotImplementedError(
        "lite export is not supported: Paddle-Lite (paddlelite) has no build for this "
        "platform and Python; export an inference model (type=infer), or ONNX with paddle2onnx"
    )


class InferenceModel:
    """An exported model loaded with ``paddle.inference`` (no training code involved)."""

    def __init__(self, folder: Path, part: str = "model", threads: int = 1, onednn: bool = False):
        """``part``: the exported network to load (``model``; a two-stage detector's ``box_head`` and
        ``mask_head``, MaskYOLO's ``mask_head``). ``onednn`` stays off by default: with Paddle 3.3 its
        fusion passes crash (SIGSEGV) on the LeakyReLU convolutions of the detectors and lack kernels for
        the decoders' resizes."""
        from paddle import inference

        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "export.json").read_text())
        config = inference.Config(str(self.folder / f"{part}.json"), str(self.folder / f"{part}.pdiparams"))
        config.disable_gpu()
        config.disable_glog_info()
        config.set_cpu_math_library_num_threads(threads)
        if not onednn:
            config.disable_onednn()
        self.predictor = inference.create_predictor(config)

    def run(self, images: np.ndarray) -> list[np.ndarray]:
        p = self.predictor
        handle = p.get_input_handle(p.get_input_names()[0])
        handle.reshape(list(images.shape))
        handle.copy_from_cpu(np.ascontiguousarray(images, dtype=np.float32))
        p.run()
        return [p.get_output_handle(name).copy_to_cpu() for name in p.get_output_names()]

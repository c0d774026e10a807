"""Export a trained task as an inference model (``paddle.jit.save``) that ``paddle.inference`` loads.

The folder holds ``model.json`` + ``model.pdiparams`` (the network: classification → class
probabilities; segmentation → logits; detection → the three YOLO head maps; instance segmentation →
the head maps and the stride-8 features, with the RoIAlign mask head exported beside it as
``mask_head.*``) and ``export.json`` (task type, labels, input shape, normalisation, anchors) — all a
deployment needs to pre- and post-process exactly as training did.

PaddleX's "lite" (Paddle-Lite, mobile) export needs the ``paddlelite`` package, which has no build for
this Python; it is refused with a message naming ONNX (``paddle2onnx``) as the alternative.
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

from .engine import Engine
from .models import MASK_SIZE


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


def export_inference(engine: Engine, save_dir: Path, quant: bool = False) -> dict[str, Any]:
    """Write the inference model of ``engine`` into ``save_dir``; returns what export.json says."""
    if quant:
        raise NotImplementedError("quantized export is not available in this release; export without quant")
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    engine.model.eval()
    h, w = engine.params.image_shape
    spec = [InputSpec([None, 3, h, w], "float32", "image")]
    wrapper = {"classification": _Probabilities, "segmentation": lambda m: m, "detection": _Heads,
               "instance_segmentation": _HeadsAndFeatures}[engine.task_type](engine.model)
    paddle.jit.save(wrapper, str(save_dir / "model"), input_spec=spec)
    if engine.task_type == "instance_segmentation":
        paddle.jit.save(engine.model.mask_head, str(save_dir / "mask_head"),
                        input_spec=[InputSpec([None, 64, MASK_SIZE // 2, MASK_SIZE // 2], "float32", "rois")])
    meta = {"task_type": engine.task_type, "labels": engine.labels, "model": engine.params.model,
            "image_shape": [h, w], "image_mean": engine.params.image_mean, "image_std": engine.params.image_std,
            "anchors": engine.anchors, "outputs": {"classification": ["probs"], "segmentation": ["logits"],
                                                   "detection": ["head32", "head16", "head8"],
                                                   "instance_segmentation": ["head32", "head16", "head8", "p8"]}
            [engine.task_type], "framework": f"paddle {paddle.__version__}"}
    (save_dir / "export.json").write_text(json.dumps(meta, indent=1))
    return meta


def export_onnx(folder: Path, opset: int = 13) -> list[Path]:
    """Convert an exported classification or segmentation model folder to ``model.onnx`` with paddle2onnx
    (extra ``jupyter-trio[onnx]``); its outputs match Paddle's (checked with onnxruntime in the tests).

    The YOLO models are refused: paddle2onnx 2.1 converts them, but the ONNX outputs differ from Paddle's
    (checked numerically), and a silently wrong model is worse than none."""
    meta = json.loads((Path(folder) / "export.json").read_text())
    if meta["task_type"] in ("detection", "instance_segmentation"):
        raise NotImplementedError("ONNX export of detection and instance segmentation models is not supported: "
                                  "paddle2onnx 2.1 gives outputs that differ from Paddle's; use the Paddle inference "
                                  "model (type=infer)")
    try:
        import paddle2onnx
    except ImportError:
        raise NotImplementedError("ONNX export needs paddle2onnx: pip install 'jupyter-trio[onnx]'") from None
    folder = Path(folder)
    target = folder / "model.onnx"
    paddle2onnx.export(str(folder / "model.json"), str(folder / "model.pdiparams"), str(target),
                       opset_version=opset, verbose=False)
    return [target]


def export_lite(*_: Any, **__: Any) -> None:
    raise NotImplementedError("lite export is not supported: Paddle-Lite (paddlelite) has no build for this "
                              "platform and Python; export an inference model (type=infer), or ONNX with paddle2onnx")


class InferenceModel:
    """An exported model loaded with ``paddle.inference`` (no training code involved)."""

    def __init__(self, folder: Path, threads: int = 1, onednn: bool = False):
        """``onednn`` stays off by default: with Paddle 3.3 its fusion passes crash (SIGSEGV) on the
        LeakyReLU convolutions of the detectors and lack kernels for the decoders' resizes."""
        from paddle import inference

        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "export.json").read_text())
        config = inference.Config(str(self.folder / "model.json"), str(self.folder / "model.pdiparams"))
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

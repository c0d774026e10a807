"""Box arithmetic shared by the detectors: IoU, the (dx, dy, dw, dh) encoding of box regressions, and
the per-class selection (score threshold + hard NMS) that turns scored boxes into detections."""

from __future__ import annotations

import math

import numpy as np
import paddle
from paddle.vision.ops import nms
from PIL import Image

MASK_SIZE = 28  # the side of every mask head's per-box output (MaskYOLO and MaskRCNN), as in PaddleX


def corners(boxes: np.ndarray, shape: list[int]) -> np.ndarray:
    """Normalised (cx, cy, w, h) boxes [K, 4] as pixel (x1, y1, x2, y2) boxes of an image of ``shape``
    (height, width)."""
    h, w = shape
    cx, cy, bw, bh = np.asarray(boxes, np.float32).reshape(-1, 4).T
    return np.stack([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h], 1)


def crop_masks(masks: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Each full-image mask [K, H, W] (0/1) cropped to its pixel box (x1, y1, x2, y2; outward to whole
    pixels, at least one) and resized bilinearly to ``size``²: the mask heads' targets, in [0, 1]."""
    out = np.zeros((len(boxes), size, size), np.float32)
    for k, (m, (x1, y1, x2, y2)) in enumerate(zip(masks, boxes)):
        x1, y1 = math.floor(x1), math.floor(y1)
        x2, y2 = max(x1 + 1, math.ceil(x2)), max(y1 + 1, math.ceil(y2))
        crop = Image.fromarray(np.asarray(m, np.uint8) * 255).crop((x1, y1, x2, y2))
        out[k] = np.asarray(crop.resize((size, size), Image.BILINEAR), np.float32) / 255
    return out


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix [len(a), len(b)] of (x1, y1, x2, y2) boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def encode(boxes: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Deltas (dx, dy, dw, dh) × weights taking ``boxes`` to ``targets``."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    tw, th = targets[:, 2] - targets[:, 0], targets[:, 3] - targets[:, 1]
    dx = (targets[:, 0] + tw / 2 - boxes[:, 0] - w / 2) / w
    dy = (targets[:, 1] + th / 2 - boxes[:, 1] - h / 2) / h
    return np.stack([dx, dy, np.log(tw / w), np.log(th / h)], axis=1).astype(np.float32) * weights


def decode(boxes: np.ndarray, deltas: np.ndarray, weights: np.ndarray, shape: list[int]) -> np.ndarray:
    """``boxes`` moved by ``deltas`` / weights, clipped to the image (inverse of :func:`encode`)."""
    d = deltas / weights
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    cx, cy = boxes[:, 0] + w / 2 + d[:, 0] * w, boxes[:, 1] + h / 2 + d[:, 1] * h
    limit = math.log(1000 / 16)
    bw, bh = w * np.exp(np.minimum(d[:, 2], limit)), h * np.exp(np.minimum(d[:, 3], limit))
    out = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    out[:, 0::2] = np.clip(out[:, 0::2], 0, shape[1])
    out[:, 1::2] = np.clip(out[:, 1::2], 0, shape[0])
    return out.astype(np.float32)


def select_per_class(
    boxes: np.ndarray, scores: np.ndarray, score_thresh: float, nms_thresh: float, keep: int
) -> dict[str, np.ndarray]:
    """One image's detections after per-class hard NMS: ``scores`` [M, C]; ``boxes`` [M, 4] shared by the
    classes (YOLO) or [M, C, 4] one per class (the two-stage heads)."""
    per_class = boxes.ndim == 3
    b4 = boxes if per_class else boxes[:, None, :]
    valid = (b4[..., 2] > b4[..., 0]) & (b4[..., 3] > b4[..., 1])
    cand, cls = np.nonzero((scores > score_thresh) & valid)
    if len(cand) == 0:
        return {
            "boxes": np.zeros((0, 4), np.float32),
            "scores": np.zeros(0, np.float32),
            "labels": np.zeros(0, np.int64),
        }
    b = boxes[cand, cls] if per_class else boxes[cand]
    s = scores[cand, cls]
    kept = nms(
        paddle.to_tensor(np.ascontiguousarray(b, np.float32)),
        nms_thresh,
        paddle.to_tensor(np.ascontiguousarray(s, np.float32)),
        paddle.to_tensor(cls.astype(np.int64)),
        list(range(scores.shape[1])),
        top_k=min(keep, len(b)),
    ).numpy()
    return {
        "boxes": b[kept].astype(np.float32),
        "scores": s[kept].astype(np.float32),
        "labels": cls[kept].astype(np.int64),
    }

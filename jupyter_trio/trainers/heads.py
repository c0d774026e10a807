"""Losses and output decoding per task type (what turns network outputs into losses and predictions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle.vision.ops import matrix_nms, yolo_box, yolo_loss
from PIL import Image

from .boxes import MASK_SIZE, corners, crop_masks, select_per_class
from .networks import ANCHOR_MASKS, ANCHORS, STRIDES


def scaled_anchors(image_shape: list[int]) -> list[int]:
    """The anchors (defined for 128 px inputs) for this input size."""
    scale = max(image_shape) / 128
    return [max(2, round(a * scale)) for a in ANCHORS]


def _masked(anchors: list[int], mask: list[int]) -> list[int]:
    return [v for i in mask for v in (anchors[2 * i], anchors[2 * i + 1])]


def dice_loss(
    logits: paddle.Tensor, target: paddle.Tensor, num_classes: int, ignore: int = 255
) -> paddle.Tensor:
    valid = (target != ignore).astype("float32").unsqueeze(1)
    onehot = F.one_hot(paddle.where(target == ignore, paddle.zeros_like(target), target), num_classes)
    onehot = onehot.transpose([0, 3, 1, 2]) * valid
    prob = F.softmax(logits, axis=1) * valid
    inter = (prob * onehot).sum(axis=[0, 2, 3])
    denom = prob.sum(axis=[0, 2, 3]) + onehot.sum(axis=[0, 2, 3])
    return 1 - ((2 * inter + 1) / (denom + 1)).mean()


def segmentation_loss(
    logits: paddle.Tensor, mask: paddle.Tensor, params: Any, num_classes: int
) -> paddle.Tensor:
    loss = F.cross_entropy(logits, mask, axis=1, ignore_index=255)
    use_dice, use_bce = params.loss_type
    if use_dice:
        loss = loss + dice_loss(logits, mask, num_classes)
    if use_bce and num_classes == 2:
        valid = (mask != 255).astype("float32")
        fg = (mask == 1).astype("float32")
        bce = F.binary_cross_entropy_with_logits(logits[:, 1] - logits[:, 0], fg, reduction="none")
        loss = loss + (bce * valid).sum() / valid.sum().clip(min=1)
    return loss


def yolo_losses(
    outputs: list[paddle.Tensor],
    boxes: paddle.Tensor,
    labels: paddle.Tensor,
    num_classes: int,
    anchors: list[int],
    scores: paddle.Tensor | None = None,
    scale_x_y: float = 1.0,
) -> paddle.Tensor:
    """The YOLOv3 loss over the three heads; ``scores`` weigh each ground-truth box (mixup);
    ``scale_x_y`` > 1 lets centre offsets reach the cell borders (PP-YOLO's grid sensitivity)."""
    total = 0.0
    for out, mask, stride in zip(outputs, ANCHOR_MASKS, STRIDES):
        total = (
            total
            + yolo_loss(
                out,
                boxes,
                labels,
                anchors,
                mask,
                num_classes,
                ignore_thresh=0.7,
                downsample_ratio=stride,
                gt_score=scores,
                use_label_smooth=False,
                scale_x_y=scale_x_y,
            ).mean()
        )
    return total


def mask_targets(
    boxes: np.ndarray, masks: np.ndarray, shape: list[int]
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Pixel boxes [R, 4] (x1, y1, x2, y2), 28×28 crops of the instance masks [R, 28, 28], boxes per image,
    from a batch's normalised (cx, cy, w, h) boxes [N, B, 4] and masks [N, B, H, W]."""
    out_boxes, out_masks, per_image = [], [], []
    for n in range(boxes.shape[0]):
        real = (boxes[n, :, 2] > 0) & (boxes[n, :, 3] > 0)
        pixel = corners(boxes[n][real], shape)
        out_boxes.append(pixel)
        out_masks.append(crop_masks(masks[n][real], pixel, MASK_SIZE))
        per_image.append(int(real.sum()))
    return (
        np.concatenate(out_boxes).astype(np.float32).reshape(-1, 4),
        np.concatenate(out_masks).reshape(-1, MASK_SIZE, MASK_SIZE),
        per_image,
    )


def decode_detections(
    outputs: list[paddle.Tensor],
    image_shape: list[int],
    num_classes: int,
    anchors: list[int],
    score_thresh: float = 0.01,
    nms_thresh: float = 0.45,
    keep: int = 100,
    scale_x_y: float = 1.0,
    matrix: bool = False,
) -> list[dict[str, np.ndarray]]:
    """Per image: boxes [K, 4] in input pixels, scores [K], labels [K] after per-class NMS (hard NMS, or
    PP-YOLO's matrix NMS, which decays the scores of overlapping boxes instead of removing them)."""
    n = outputs[0].shape[0]
    size = paddle.to_tensor([image_shape] * n, dtype="int32")
    all_boxes, all_scores = [], []
    for out, mask, stride in zip(outputs, ANCHOR_MASKS, STRIDES):
        b, s = yolo_box(
            out,
            size,
            _masked(anchors, mask),
            num_classes,
            score_thresh,
            stride,
            clip_bbox=True,
            scale_x_y=scale_x_y,
        )
        all_boxes.append(b)
        all_scores.append(s)
    if matrix:
        boxes_t, scores_t = paddle.concat(all_boxes, axis=1), paddle.concat(all_scores, axis=1)
        valid = (boxes_t[..., 2] > boxes_t[..., 0]) & (boxes_t[..., 3] > boxes_t[..., 1])
        return _matrix_nms(boxes_t, scores_t * valid.astype(scores_t.dtype).unsqueeze(-1), score_thresh, keep)
    boxes = paddle.concat(all_boxes, axis=1).numpy()
    scores = paddle.concat(all_scores, axis=1).numpy()
    return [select_per_class(boxes[i], scores[i], score_thresh, nms_thresh, keep) for i in range(n)]


def _matrix_nms(
    boxes: paddle.Tensor, scores: paddle.Tensor, score_thresh: float, keep: int
) -> list[dict[str, np.ndarray]]:
    out, per_image, _ = matrix_nms(
        boxes,
        scores.transpose([0, 2, 1]),
        score_threshold=score_thresh,
        post_threshold=score_thresh,
        nms_top_k=1000,
        keep_top_k=keep,
        background_label=-1,
        normalized=False,
        return_index=True,
        return_rois_num=True,
    )
    out, counts = out.numpy(), per_image.numpy()
    results, start = [], 0
    for count in counts:
        rows = out[start : start + int(count)]
        start += int(count)
        results.append(
            {
                "boxes": rows[:, 2:6].astype(np.float32),
                "scores": rows[:, 1].astype(np.float32),
                "labels": rows[:, 0].astype(np.int64),
            }
        )
    return results


def paste_masks(
    mask_logits: np.ndarray, boxes: np.ndarray, labels: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """Per-box 28×28 logits (channel of the box's class) pasted into full-size boolean masks [K, H, W]."""
    h, w = shape
    out = np.zeros((len(boxes), h, w), bool)
    for k, ((x1, y1, x2, y2), c) in enumerate(zip(boxes, labels)):
        x1, y1 = int(max(0, np.floor(x1))), int(max(0, np.floor(y1)))
        x2, y2 = int(min(w, np.ceil(x2))), int(min(h, np.ceil(y2)))
        if x2 <= x1 or y2 <= y1:
            continue
        prob = 1 / (1 + np.exp(-mask_logits[k, c]))
        patch = Image.fromarray((prob * 255).astype(np.uint8)).resize((x2 - x1, y2 - y1), Image.BILINEAR)
        out[k, y1:y2, x1:x2] = np.asarray(patch) > 127
    return out

"""Evaluation metrics in numpy: accuracy and confusion matrices, IoU, and detection/mask mAP.

mAP follows the usual definitions: for each class, detections sorted by score are matched greedily to
unmatched ground truth at an IoU threshold; AP is the area under the interpolated precision/recall
curve (all points, as VOC2010+ and COCO's 101-point variant both approximate). ``iscrowd`` ground
truth is ignored (neither a hit nor a miss). COCO-style mAP averages AP over IoU 0.50:0.05:0.95.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def topk_accuracy(logits: np.ndarray, labels: np.ndarray, k: int) -> float:
    k = min(k, logits.shape[1])
    top = np.argsort(-logits, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean()) if len(labels) else 0.0


def confusion(pred: np.ndarray, truth: np.ndarray, num_classes: int, ignore: int = 255) -> np.ndarray:
    keep = truth != ignore
    idx = truth[keep].astype(np.int64) * num_classes + pred[keep].astype(np.int64)
    return np.bincount(idx, minlength=num_classes**2).reshape(num_classes, num_classes)


def segmentation_scores(cm: np.ndarray, labels: list[str]) -> dict[str, Any]:
    tp = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - tp
    present = union > 0
    iou = np.where(present, tp / np.maximum(union, 1), np.nan)
    return {
        "miou": float(np.nanmean(iou)) if present.any() else 0.0,
        "category_iou": {labels[i]: (None if np.isnan(v) else float(v)) for i, v in enumerate(iou)},
        "acc": float(tp.sum() / max(cm.sum(), 1)),
        "category_acc": {
            labels[i]: float(tp[i] / cm[i].sum()) if cm[i].sum() else None for i in range(len(labels))
        },
        "confusion_matrix": cm.tolist(),
    }


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` [N, 4] with every box in ``b`` [M, 4] (x1, y1, x2, y2)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def mask_iou(a: list[np.ndarray], b: list[np.ndarray]) -> np.ndarray:
    if not a or not b:
        return np.zeros((len(a), len(b)))
    fa = np.stack([m.reshape(-1) for m in a]).astype(np.float32)
    fb = np.stack([m.reshape(-1) for m in b]).astype(np.float32)
    inter = fa @ fb.T
    return inter / np.maximum(fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter, 1e-9)


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    steps = np.flatnonzero(r[1:] != r[:-1])
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))


def detection_map(
    predictions: list[dict[str, Any]],
    truths: list[dict[str, Any]],
    num_classes: int,
    thresholds: tuple[float, ...] = (0.5,),
    use_masks: bool = False,
) -> dict[int | float, float]:
    """mAP over classes with ground truth, per IoU threshold.

    ``predictions[i]``: ``boxes`` [K, 4], ``scores`` [K], ``labels`` [K] (and ``masks``); ``truths[i]``:
    ``boxes``, ``labels``, ``crowd`` (and ``masks``), for the same image i.
    """
    results: dict[float, float] = {}
    ious = []
    for pred, truth in zip(predictions, truths):
        if use_masks:
            ious.append(mask_iou(list(pred["masks"]), list(truth["masks"])))
        else:
            ious.append(
                box_iou(np.asarray(pred["boxes"]).reshape(-1, 4), np.asarray(truth["boxes"]).reshape(-1, 4))
            )
    for t in thresholds:
        aps = []
        for c in range(num_classes):
            n_truth = sum(
                int(((np.asarray(tr["labels"]) == c) & ~np.asarray(tr["crowd"], bool)).sum()) for tr in truths
            )
            if n_truth == 0:
                continue
            records = []  # (score, is_true_positive or None for ignored)
            for pred, truth, iou in zip(predictions, truths, ious):
                labels, crowd = np.asarray(truth["labels"]), np.asarray(truth["crowd"], bool)
                gt = np.flatnonzero(labels == c)
                taken = set()
                p_idx = np.flatnonzero(np.asarray(pred["labels"]) == c)
                for k in p_idx[np.argsort(-np.asarray(pred["scores"])[p_idx], kind="stable")]:
                    best, best_iou = -1, t
                    for g in gt:
                        if g not in taken and iou[k, g] >= best_iou:
                            best, best_iou = g, iou[k, g]
                    if best >= 0 and crowd[best]:
                        records.append((pred["scores"][k], None))
                    elif best >= 0:
                        taken.add(best)
                        records.append((pred["scores"][k], True))
                    else:
                        records.append((pred["scores"][k], False))
            records = [r for r in records if r[1] is not None]
            records.sort(key=lambda r: -r[0])
            hits = np.array([r[1] for r in records], dtype=np.float64)
            if len(hits) == 0:
                aps.append(0.0)
                continue
            tp = np.cumsum(hits)
            recall = tp / n_truth
            precision = tp / np.arange(1, len(hits) + 1)
            aps.append(average_precision(recall, precision))
        results[t] = float(np.mean(aps)) if aps else 0.0
    return results


COCO_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))

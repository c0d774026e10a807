"""Two-stage detectors as PaddleX defined them: FasterRCNN and MaskRCNN (Ren et al., 2015; He et al., 2017).

A backbone (ResNet18/50/101, the ``_vd`` ResNets, HRNet_W18) gives maps at strides 4-32; with ``with_fpn``
a feature pyramid turns them into P2-P6 (256 channels), without it the stride-16 map is the one level. A
region proposal network scores three anchor shapes (ratios 0.5, 1, 2) at every position of every level;
``paddle.vision.ops.generate_proposals`` decodes and NMS-filters them into proposals,
``distribute_fpn_proposals`` sends each to the level of its size and ``roi_align`` pools 7×7 features
for the box head (two fully connected layers, a softmax over the classes + background, class-specific box
deltas) and, for MaskRCNN, 14×14 features for the mask head (four 3×3 convolutions, a 2× deconvolution,
28×28 logits per class).

Training assigns targets as Faster R-CNN does: anchors with IoU ≥ 0.7 to a ground-truth box (and each box's
best anchors) are positives, < 0.3 negatives, 256 sampled per image, half positive at most; proposals
(with the ground-truth boxes added) with IoU ≥ 0.5 are foreground, the rest background, 128 sampled per
image, a quarter foreground at most. Anchor sizes are 4× each level's stride (16-256 px: our inputs are
64-512 px where PaddleX's were 800). The sampling draws from the engine's generator, reseeded per epoch,
so a resumed run samples what the uninterrupted one did.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.vision.ops import distribute_fpn_proposals, generate_proposals, roi_align

from .backbones import Backbone
from .boxes import MASK_SIZE, box_iou, corners, crop_masks, decode, encode, select_per_class
from .segmenters import HRNet

RATIOS = (0.5, 1.0, 2.0)
FPN_STRIDES = (4, 8, 16, 32, 64)  # P2-P6; RoIs are pooled from P2-P5
C4_SIZES = (16, 32, 64, 128, 256)  # without FPN: every size on the one stride-16 level
WIDTH = 256
MASK_WIDTH, MASK_ROIS = 128, 8  # PaddleX: 256 wide, every foreground RoI; sized for CPUs
HEAD_WIDTH = 256  # PaddleX: 1024 at 512 RoIs per 800 px image; 64 RoIs of small images need less
POOL, MASK_POOL = 7, MASK_SIZE // 2
RPN_SAMPLES, RPN_POSITIVE = 256, 0.5
RPN_SMOOTH_L1_BETA = 1 / 9  # PaddleX: sigma 3 on the RPN deltas, 1 on the heads' deltas
ROI_SAMPLES, ROI_POSITIVE = 64, 0.25
BOX_WEIGHTS = np.array([10.0, 10.0, 5.0, 5.0], np.float32)
PRE_NMS, POST_NMS, RPN_NMS = 1000, 300, 0.7  # proposals per level before NMS, kept per image, NMS IoU


class HRNetFeatures(nn.Layer):
    """HRNet_W18's four branches as a backbone (strides 4, 8, 16, 32; 18, 36, 72 and 144 wide)."""

    def __init__(self, in_channels: int = 3):
        super().__init__()
        self.net = HRNet(0, 18, in_channels)
        self.channels = list(self.net.channels)

    def forward(self, x: paddle.Tensor) -> list[paddle.Tensor]:
        return self.net.branches(x)


def feature_extractor(name: str) -> nn.Layer:
    return HRNetFeatures() if name == "HRNet_W18" else Backbone(name)


class FPN(nn.Layer):
    """Lateral 1×1 convolutions, a top-down path (nearest upsampling, sums), 3×3 output convolutions;
    P6 is P5 subsampled."""

    def __init__(self, channels: list[int]):
        super().__init__()
        self.lateral = nn.LayerList([nn.Conv2D(c, WIDTH, 1) for c in channels])
        self.output = nn.LayerList([nn.Conv2D(WIDTH, WIDTH, 3, padding=1) for _ in channels])

    def forward(self, feats: list[paddle.Tensor]) -> list[paddle.Tensor]:
        laterals = [conv(f) for conv, f in zip(self.lateral, feats)]
        for i in range(len(laterals) - 2, -1, -1):
            laterals[i] = laterals[i] + F.interpolate(
                laterals[i + 1], size=laterals[i].shape[2:], mode="nearest"
            )
        outs = [conv(f) for conv, f in zip(self.output, laterals)]
        return [*outs, F.max_pool2d(outs[-1], 1, stride=2)]


def _normal(std: float) -> dict[str, paddle.ParamAttr]:
    """Small random weights, zero bias: heads start from near-zero logits and deltas (as Detectron)."""
    return {
        "weight_attr": paddle.ParamAttr(initializer=nn.initializer.Normal(0.0, std)),
        "bias_attr": paddle.ParamAttr(initializer=nn.initializer.Constant(0.0)),
    }


class RPNHead(nn.Layer):
    def __init__(self, anchors: int):
        super().__init__()
        self.conv = nn.Conv2D(WIDTH, WIDTH, 3, padding=1, **_normal(0.01))
        self.cls = nn.Conv2D(WIDTH, anchors, 1, **_normal(0.01))
        self.reg = nn.Conv2D(WIDTH, 4 * anchors, 1, **_normal(0.01))

    def forward(self, x: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor]:
        y = F.relu(self.conv(x))
        return self.cls(y), self.reg(y)


class BoxHead(nn.Layer):
    """Pooled RoI features → class probabilities (background first) and class-specific box deltas."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(WIDTH * POOL * POOL, HEAD_WIDTH),
            nn.ReLU(),
            nn.Linear(HEAD_WIDTH, HEAD_WIDTH),
            nn.ReLU(),
        )
        self.cls = nn.Linear(HEAD_WIDTH, num_classes + 1, **_normal(0.01))
        self.reg = nn.Linear(HEAD_WIDTH, 4 * num_classes, **_normal(0.001))

    def forward(self, rois: paddle.Tensor) -> tuple[paddle.Tensor, paddle.Tensor]:
        y = self.fc(paddle.flatten(rois, 1))
        return self.cls(y), self.reg(y)


class MaskHead(nn.Sequential):
    """Four 3×3 convolutions, a 2× deconvolution, one 1×1 convolution to a logit map per class."""

    def __init__(self, num_classes: int):
        layers: list[nn.Layer] = []
        for i in range(4):
            layers += [nn.Conv2D(WIDTH if i == 0 else MASK_WIDTH, MASK_WIDTH, 3, padding=1), nn.ReLU()]
        layers += [
            nn.Conv2DTranspose(MASK_WIDTH, MASK_WIDTH, 2, 2),
            nn.ReLU(),
            nn.Conv2D(MASK_WIDTH, num_classes, 1),
        ]
        super().__init__(*layers)


class RCNN(nn.Layer):
    """FasterRCNN, or with ``with_mask`` MaskRCNN. ``forward`` gives what the exported model gives: the
    feature levels, then each level's RPN scores, then each level's RPN deltas."""

    two_stage = True

    def __init__(
        self, num_classes: int, backbone: str = "ResNet18", with_fpn: bool = True, with_mask: bool = False
    ):
        super().__init__()
        self.num_classes, self.with_fpn, self.with_mask = num_classes, with_fpn, with_mask
        self.body = feature_extractor(backbone)
        if with_fpn:
            self.fpn = FPN(self.body.channels)
            self.strides, self.sizes = FPN_STRIDES, [(4 * s,) for s in FPN_STRIDES]
        else:
            self.reduce = nn.Conv2D(self.body.channels[2], WIDTH, 1)
            self.strides, self.sizes = (16,), [C4_SIZES]
        self.rpn = RPNHead(len(self.sizes[0]) * len(RATIOS))
        self.box_head = BoxHead(num_classes)
        self.mask_head = MaskHead(num_classes) if with_mask else None
        self._anchors: dict[tuple[int, int, int], np.ndarray] = {}

    def features(self, x: paddle.Tensor) -> list[paddle.Tensor]:
        feats = self.body(x)
        return self.fpn(feats) if self.with_fpn else [self.reduce(feats[2])]

    def forward(self, x: paddle.Tensor) -> tuple[paddle.Tensor, ...]:
        feats = self.features(x)
        outs = [self.rpn(f) for f in feats]
        return (*feats, *[o[0] for o in outs], *[o[1] for o in outs])

    # ---- anchors and proposals
    def anchors(self, level: int, h: int, w: int) -> np.ndarray:
        """Anchors [h, w, A, 4] (x1, y1, x2, y2, pixels) of a level's map of h × w cells."""
        key = (level, h, w)
        if key not in self._anchors:
            stride = self.strides[level]
            shapes = []
            for size in self.sizes[level]:
                for ratio in RATIOS:  # ratio = height / width, area size²
                    aw, ah = size / math.sqrt(ratio), size * math.sqrt(ratio)
                    shapes.append([-aw / 2, -ah / 2, aw / 2, ah / 2])
            ys, xs = np.meshgrid((np.arange(h) + 0.5) * stride, (np.arange(w) + 0.5) * stride, indexing="ij")
            centres = np.stack([xs, ys, xs, ys], axis=-1)[:, :, None, :]
            self._anchors[key] = (centres + np.asarray(shapes, np.float32)[None, None]).astype(np.float32)
        return self._anchors[key]

    def proposals(
        self, scores: list[paddle.Tensor], deltas: list[paddle.Tensor], image_shape: list[int]
    ) -> list[np.ndarray]:
        """Per image: up to POST_NMS proposals [R, 4] over all levels, best first."""
        n = scores[0].shape[0]
        size = paddle.to_tensor([image_shape] * n, dtype="float32")
        per_image: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(n)]
        for level, (s, d) in enumerate(zip(scores, deltas)):
            h, w = s.shape[2], s.shape[3]
            anchors = self.anchors(level, h, w)
            rois, probs, counts = generate_proposals(
                F.sigmoid(s.detach()),
                d.detach(),
                size,
                paddle.to_tensor(anchors),
                paddle.ones(anchors.shape, "float32"),
                pre_nms_top_n=PRE_NMS,
                post_nms_top_n=POST_NMS,
                nms_thresh=RPN_NMS,
                min_size=1.0,
                return_rois_num=True,
            )
            rois, probs, start = rois.numpy(), probs.numpy().reshape(-1), 0
            for i, count in enumerate(counts.numpy().tolist()):
                per_image[i].append((rois[start : start + count], probs[start : start + count]))
                start += count
        out = []
        for parts in per_image:  # one entry per level
            rois, probs = np.concatenate([r for r, _ in parts]), np.concatenate([p for _, p in parts])
            out.append(rois[np.argsort(-probs, kind="stable")[:POST_NMS]].astype(np.float32))
        return out

    def pooled(
        self, feats: list[paddle.Tensor], rois: list[np.ndarray], size: int, image_side: int
    ) -> paddle.Tensor:
        """RoIAlign features [R, WIDTH, size, size] of the RoIs of every image (in order)."""
        boxes = paddle.to_tensor(np.concatenate(rois).astype(np.float32).reshape(-1, 4))
        counts = paddle.to_tensor([len(r) for r in rois], dtype="int32")
        if not self.with_fpn:
            return roi_align(feats[0], boxes, counts, size, 1 / 16, sampling_ratio=2, aligned=True)
        levels, restore, level_counts = distribute_fpn_proposals(
            boxes, 2, 5, 4, refer_scale(image_side), rois_num=counts
        )
        pooled = []
        for i, (level_rois, level_num) in enumerate(zip(levels, level_counts)):
            if level_rois.shape[0]:
                pooled.append(
                    roi_align(
                        feats[i],
                        level_rois,
                        level_num,
                        size,
                        1 / FPN_STRIDES[i],
                        sampling_ratio=2,
                        aligned=True,
                    )
                )
        return paddle.gather(paddle.concat(pooled), restore.flatten())


def refer_scale(image_side: int) -> int:
    """The RoI size that goes to P4: PaddleX's 224 at 800 px inputs, scaled to ours."""
    return max(16, round(224 * image_side / 800))


def ground_truth(
    arrays: list[np.ndarray], shape: list[int]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Per image: boxes [G, 4] in pixels (x1, y1, x2, y2), labels [G], instance masks [G, H, W] or None,
    from a batch's normalised (cx, cy, w, h) boxes."""
    out = []
    for i in range(len(arrays[1])):
        keep = arrays[1][i][:, 2] > 0
        masks = arrays[3][i][keep] if len(arrays) == 5 else None
        out.append((corners(arrays[1][i][keep], shape), arrays[2][i][keep].astype(np.int64), masks))
    return out


def _sample(candidates: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    return candidates if len(candidates) <= count else rng.choice(candidates, count, replace=False)


def rpn_targets(
    anchors: np.ndarray, gt: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sampled anchor indices, their labels 1/0, regression targets of the positives)."""
    if not len(gt):
        neg = _sample(np.arange(len(anchors)), RPN_SAMPLES, rng)
        return neg, np.zeros(len(neg), np.float32), np.zeros((0, 4), np.float32)
    iou = box_iou(anchors, gt)
    best_gt, best = iou.argmax(1), iou.max(1)
    labels = np.full(len(anchors), -1)
    labels[best < 0.3] = 0
    labels[best >= 0.7] = 1
    top = iou.max(0)
    labels[np.nonzero((iou == top[None, :]) & (top[None, :] > 0))[0]] = 1  # each box's best anchors
    pos = _sample(np.nonzero(labels == 1)[0], int(RPN_SAMPLES * RPN_POSITIVE), rng)
    neg = _sample(np.nonzero(labels == 0)[0], RPN_SAMPLES - len(pos), rng)
    chosen = np.concatenate([pos, neg])
    targets = encode(anchors[pos], gt[best_gt[pos]], np.ones(4, np.float32))
    return chosen, np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]).astype(np.float32), targets


def roi_targets(
    proposals: np.ndarray, gt: np.ndarray, labels: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(sampled RoIs, their classes — 0 background, c + 1 class c —, box targets, matched box index)."""
    rois = np.concatenate([proposals, gt]) if len(gt) else proposals
    if not len(gt):
        rois = _sample(np.arange(len(rois)), ROI_SAMPLES, rng)
        picked = proposals[rois]
        return (
            picked,
            np.zeros(len(picked), np.int64),
            np.zeros((len(picked), 4), np.float32),
            np.zeros(len(picked), np.int64),
        )
    iou = box_iou(rois, gt)
    best_gt, best = iou.argmax(1), iou.max(1)
    fg = _sample(np.nonzero(best >= 0.5)[0], int(ROI_SAMPLES * ROI_POSITIVE), rng)
    bg = _sample(np.nonzero(best < 0.5)[0], ROI_SAMPLES - len(fg), rng)
    keep = np.concatenate([fg, bg])
    classes = np.concatenate([labels[best_gt[fg]] + 1, np.zeros(len(bg), np.int64)])
    targets = np.zeros((len(keep), 4), np.float32)
    targets[: len(fg)] = encode(rois[fg], gt[best_gt[fg]], BOX_WEIGHTS)
    return rois[keep].astype(np.float32), classes, targets, best_gt[keep]


def smooth_l1(x: paddle.Tensor, y: paddle.Tensor, beta: float) -> paddle.Tensor:
    """Summed smooth L1 with its quadratic part below ``beta`` (PaddleX's ``smooth_l1`` with
    ``sigma² = 1/beta``). Paddle's ``smooth_l1_loss(delta=beta)`` is the Huber loss, ``beta`` times this:
    with beta 1/9 it weighed the RPN's boxes 9 times less than PaddleX did."""
    return F.smooth_l1_loss(x, y, reduction="sum", delta=beta) / beta


def losses(
    model: RCNN, image: paddle.Tensor, arrays: list[np.ndarray], rng: np.random.Generator
) -> paddle.Tensor:
    """RPN (objectness + box) and head (class + box, + mask for MaskRCNN) losses of a batch."""
    shape = list(image.shape[2:])
    truth = ground_truth(arrays, shape)
    feats = model.features(image)
    outs = [model.rpn(f) for f in feats]
    scores, deltas = [o[0] for o in outs], [o[1] for o in outs]
    n = image.shape[0]
    anchors = np.concatenate(
        [model.anchors(i, s.shape[2], s.shape[3]).reshape(-1, 4) for i, s in enumerate(scores)]
    )
    flat_scores = paddle.concat([s.transpose([0, 2, 3, 1]).reshape([n, -1]) for s in scores], axis=1)
    flat_deltas = paddle.concat(
        [
            d.reshape([n, -1, 4, d.shape[2], d.shape[3]]).transpose([0, 3, 4, 1, 2]).reshape([n, -1, 4])
            for d in deltas
        ],
        axis=1,
    )
    cls_index, cls_labels, reg_index, reg_targets = [], [], [], []
    for i, (gt, _, _) in enumerate(truth):
        chosen, labels, targets = rpn_targets(anchors, gt, rng)
        cls_index += [[i, a] for a in chosen]
        cls_labels.append(labels)
        reg_index += [[i, a] for a in chosen[: len(targets)]]
        reg_targets.append(targets)
    sampled = max(1, len(cls_index))
    rpn_cls = F.binary_cross_entropy_with_logits(
        paddle.gather_nd(flat_scores, paddle.to_tensor(cls_index)),
        paddle.to_tensor(np.concatenate(cls_labels)),
        reduction="sum",
    )
    total = rpn_cls / sampled
    if reg_index:
        picked = paddle.gather_nd(flat_deltas, paddle.to_tensor(reg_index))
        total = (
            total
            + smooth_l1(picked, paddle.to_tensor(np.concatenate(reg_targets)), beta=RPN_SMOOTH_L1_BETA)
            / sampled
        )

    proposals = model.proposals(scores, deltas, shape)
    rois, classes, box_targets, matched = zip(
        *(roi_targets(p, gt, lab, rng) for p, (gt, lab, _) in zip(proposals, truth))
    )
    if not sum(len(r) for r in rois):  # no proposal and no box in the whole batch: nothing for the heads
        return total
    logits, box_deltas = model.box_head(model.pooled(feats, list(rois), POOL, max(shape)))
    classes_all = np.concatenate(classes)
    total = total + F.cross_entropy(logits, paddle.to_tensor(classes_all))
    fg = np.nonzero(classes_all > 0)[0]
    if len(fg):
        columns = (classes_all[fg] - 1)[:, None] * 4 + np.arange(4)[None, :]
        index = np.stack([np.repeat(fg, 4), columns.reshape(-1)], axis=1)
        picked = paddle.gather_nd(box_deltas, paddle.to_tensor(index)).reshape([-1, 4])
        target = paddle.to_tensor(np.concatenate(box_targets)[fg])
        total = total + smooth_l1(picked, target, beta=1.0) / max(1, len(classes_all))
    if model.with_mask and len(fg):
        fg_rois, fg_targets, fg_classes = [], [], []
        for r, c, m, (_, _, masks) in zip(rois, classes, matched, truth):
            keep = rng.permutation(np.nonzero(c > 0)[0])[:MASK_ROIS]
            fg_classes.append(c[keep] - 1)
            fg_rois.append(r[keep])
            fg_targets.append((crop_masks(masks[m[keep]], r[keep], MASK_SIZE) >= 0.5).astype(np.float32))
        mask_logits = model.mask_head(model.pooled(feats, fg_rois, MASK_POOL, max(shape)))
        mask_classes = np.concatenate(fg_classes)
        index = np.stack([np.arange(len(mask_classes)), mask_classes], axis=1)
        picked = paddle.gather_nd(mask_logits, paddle.to_tensor(index))
        total = total + F.binary_cross_entropy_with_logits(
            picked, paddle.to_tensor(np.concatenate(fg_targets))
        )
    return total


@paddle.no_grad()
def detect(
    model: RCNN, image: paddle.Tensor, score_thresh: float, nms_thresh: float = 0.5, keep: int = 100
) -> list[dict[str, Any]]:
    """Per image: boxes [K, 4] in input pixels, scores, labels (and masks [K, H, W] for MaskRCNN)."""
    shape = list(image.shape[2:])
    feats = model.features(image)
    outs = [model.rpn(f) for f in feats]
    proposals = model.proposals([o[0] for o in outs], [o[1] for o in outs], shape)
    results: list[dict[str, Any]] = []
    if sum(len(p) for p in proposals):
        logits, deltas = model.box_head(model.pooled(feats, proposals, POOL, max(shape)))
        probs, deltas = F.softmax(logits, axis=1).numpy(), deltas.numpy()
    start = 0
    for p in proposals:
        if not len(p):
            results.append(
                select_per_class(
                    np.zeros((0, 4), np.float32),
                    np.zeros((0, model.num_classes), np.float32),
                    score_thresh,
                    nms_thresh,
                    keep,
                )
            )
            continue
        prob, delta = probs[start : start + len(p)], deltas[start : start + len(p)]
        start += len(p)
        # one box per (proposal, class): flattened as rows of a class-agnostic selection
        boxes = np.stack(
            [decode(p, delta[:, 4 * c : 4 * c + 4], BOX_WEIGHTS, shape) for c in range(model.num_classes)],
            axis=1,
        )
        results.append(select_per_class(boxes, prob[:, 1:], score_thresh, nms_thresh, keep))
    if model.with_mask:
        counts = [len(r["boxes"]) for r in results]
        if sum(counts):
            logits = model.mask_head(
                model.pooled(feats, [r["boxes"] for r in results], MASK_POOL, max(shape))
            ).numpy()
        offset = 0
        for r, count in zip(results, counts):
            r["mask_logits"] = (
                logits[offset : offset + count]
                if count
                else np.zeros((0, model.num_classes, MASK_SIZE, MASK_SIZE), np.float32)
            )
            offset += count
    return results

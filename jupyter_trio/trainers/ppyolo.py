"""PP-YOLO's additions to YOLOv3, as PaddleX's ``PPYOLO`` defined them (Long et al., 2020).

On the network side: deformable convolutions (DCNv2, ``paddle.vision.ops.deform_conv2d``) in the
backbone's last stage, CoordConv (two coordinate channels) in the neck, spatial pyramid pooling on the
deepest map and DropBlock while training (each only on maps wide enough for it), and a grid
sensitivity factor ``scale_x_y`` of 1.05 on the centre offsets, and the IoU-aware branch: one more
channel per anchor that predicts the IoU of its own box with the truth. On the loss side: an IoU loss on
the decoded boxes of the anchors that own a ground-truth box, and a binary cross-entropy of the IoU
branch against that (detached) IoU, next to YOLOv3's loss. Outside training the IoU branch is folded
into the objectness (``fuse_iou_aware``), so the heads leave the network in YOLOv3's layout and one
decoder and one export format serve both detectors. Decoding uses matrix NMS
(``paddle.vision.ops.matrix_nms``); the exponential moving average of the weights is the engine's
(``ema.py``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.vision.models.resnet import BasicBlock, BottleneckBlock
from paddle.vision.ops import DeformConv2D

from .backbones import Backbone, leaky_relu
from .backbones import conv_bn as backbone_conv_bn

RESIDUAL_BLOCKS = (BasicBlock, BottleneckBlock)  # their 3×3 convolution is ``conv2``
SCALE_X_Y = 1.05
IOU_LOSS_WEIGHT = 2.5
IOU_AWARE_FACTOR = 0.4  # the IoU branch's share of the fused objectness, as PaddleX's head fixed it
DROP_BLOCK_SIZE, DROP_BLOCK_KEEP = 3, 0.9


class DeformableConv(nn.Layer):
    """A modulated deformable 3×3 convolution (DCNv2) that takes the place of ``conv``: offsets and
    modulation come from a 3×3 convolution that starts at zero (the sampling grid starts regular)."""

    def __init__(self, conv: nn.Conv2D):
        super().__init__()
        stride = conv._stride[0] if isinstance(conv._stride, (list, tuple)) else conv._stride
        zeros = paddle.ParamAttr(initializer=nn.initializer.Constant(0.0))
        self.offsets = nn.Conv2D(conv._in_channels, 27, 3, stride, 1, weight_attr=zeros, bias_attr=zeros)
        self.conv = DeformConv2D(conv._in_channels, conv._out_channels, 3, stride, 1, bias_attr=False)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        out = self.offsets(x)
        return self.conv(x, out[:, :18], F.sigmoid(out[:, 18:]))


def deform_last_stage(backbone: Backbone) -> None:
    """Swap the 3×3 convolution of every residual block of the stride-32 stage for a deformable one."""
    blocks = [layer for layer in backbone.stages[3].sublayers() if isinstance(layer, RESIDUAL_BLOCKS)]
    if not blocks:
        raise ValueError(f"{backbone.name} has no ResNet blocks to make deformable")
    for block in blocks:
        block.conv2 = DeformableConv(block.conv2)


def coordinates(x: paddle.Tensor) -> paddle.Tensor:
    """``x`` with two more channels: the column and row position, from -1 to 1."""
    h, w = x.shape[2], x.shape[3]
    batch = paddle.shape(x)[0]
    xs = paddle.linspace(-1.0, 1.0, w, dtype=x.dtype).reshape([1, 1, 1, w]).expand([batch, 1, h, w])
    ys = paddle.linspace(-1.0, 1.0, h, dtype=x.dtype).reshape([1, 1, h, 1]).expand([batch, 1, h, w])
    return paddle.concat([x, xs, ys], axis=1)


class CoordConv(nn.Layer):
    def __init__(self, cin: int, cout: int, k: int):
        super().__init__()
        self.conv = backbone_conv_bn(cin + 2, cout, k, act=leaky_relu)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.conv(coordinates(x))


class SPP(nn.Layer):
    """The map beside its 5×5, 9×9 and 13×13 max-pooled copies (stride 1), then a 1×1 back to ``cout``.

    A map no wider than ``POOLS[0] // 2 + 1`` (3: a 96 px input's deepest map) passes unchanged: there
    every window covers the whole map, so the three copies are one global maximum repeated in every cell.
    On the detection bench (PPYOLO/ResNet18, 96 px, mean of three seeds) pooling there held mAP@0.5 at
    0.673 and COCO mAP at 0.443; passing the map through, 0.770 and 0.540 (README). PaddleX's smallest
    input, 320 px, gives a 10 × 10 map, where the pools differ."""

    POOLS = (5, 9, 13)

    def __init__(self, cin: int, cout: int):
        super().__init__()
        if cin != cout:
            raise ValueError(f"SPP keeps the width ({cin} in, {cout} out) so that a small map can pass")
        self.project = backbone_conv_bn(cin * 4, cout, 1, act=leaky_relu)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        if max(x.shape[2], x.shape[3]) <= self.POOLS[0] // 2 + 1:
            return x
        pooled = [F.max_pool2d(x, k, 1, k // 2) for k in self.POOLS]
        return self.project(paddle.concat([x, *pooled], axis=1))


class DropBlock(nn.Layer):
    """Drops square blocks of a feature map while training (Ghiasi et al., 2018); identity in eval.

    Only on maps at least ``MIN_SIDE`` wide: PP-YOLO's smallest map is 19 wide (608 px inputs), where a
    3×3 block is a small part of it; on the 3×3 map of a 96 px input one block would drop the whole
    channel most of the time."""

    MIN_SIDE = 16

    def __init__(self, block_size: int = DROP_BLOCK_SIZE, keep_prob: float = DROP_BLOCK_KEEP):
        super().__init__()
        self.block_size, self.keep_prob = block_size, keep_prob

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        h, w = x.shape[2], x.shape[3]
        if not self.training or min(h, w) < self.MIN_SIDE:
            return x
        b = min(self.block_size, h, w)
        gamma = (1 - self.keep_prob) / b**2 * (h * w) / max(1, (h - b + 1) * (w - b + 1))
        seeds = paddle.bernoulli(paddle.full(x.shape, gamma, x.dtype))
        dropped = F.max_pool2d(seeds, b, 1, b // 2)[:, :, :h, :w]
        keep = 1 - dropped
        return x * keep * (keep.numel().astype(x.dtype) / keep.sum().clip(min=1.0))


def neck(
    c8: int, c16: int, c32: int, coord_conv: bool = True, spp: bool = True, drop_block: bool = True
) -> dict[str, nn.Layer]:
    """PP-YOLO's neck layers under YOLOv3's names (same widths): CoordConv throughout, SPP and
    DropBlock on the deepest level, DropBlock on the others (each switchable, as PaddleX's PPYOLO had)."""

    def conv(cin: int, cout: int, k: int) -> nn.Layer:
        return CoordConv(cin, cout, k) if coord_conv else backbone_conv_bn(cin, cout, k, act=leaky_relu)

    def drop() -> nn.Layer:
        return DropBlock() if drop_block else nn.Identity()

    return {
        "lat32": nn.Sequential(
            conv(c32, 256, 1), SPP(256, 256) if spp else nn.Identity(), drop(), conv(256, 256, 3)
        ),
        "lat16": nn.Sequential(conv(c16 + 128, 128, 1), drop(), conv(128, 128, 3)),
        "lat8": nn.Sequential(conv(c8 + 64, 64, 1), drop(), conv(64, 64, 3)),
    }


def split_iou_aware(out: paddle.Tensor, num_anchors: int) -> tuple[paddle.Tensor, paddle.Tensor]:
    """A head's output with the IoU branch's channels (its last ``num_anchors``) apart: YOLOv3's
    layout [N, A·(5 + classes), H, W] and the IoU logits [N, A, H, W]."""
    split = out.shape[1] - num_anchors
    return out[:, :split], out[:, split:]


def fuse_iou_aware(out: paddle.Tensor, iou_logits: paddle.Tensor) -> paddle.Tensor:
    """YOLOv3's layout with each anchor's objectness logit replaced by that of
    ``sigmoid(obj)^(1 − f) · sigmoid(iou)^f`` (f = ``IOU_AWARE_FACTOR``): a box the network expects to
    fit badly scores lower, and the decoder (``yolo_box``, matrix NMS) stays YOLOv3's. (No default
    argument from a module constant: paddle.jit's export cannot resolve one.)"""
    factor = IOU_AWARE_FACTOR
    h, w = out.shape[2], out.shape[3]
    anchors = iou_logits.shape[1]
    per_anchor = out.reshape([0, anchors, -1, h, w])  # 0: the batch size as it comes (None in export)
    obj = per_anchor[:, :, 4:5]
    fused = F.sigmoid(obj) ** (1 - factor) * F.sigmoid(iou_logits.unsqueeze(2)) ** factor
    fused = fused.clip(1e-7, 1 - 1e-7)
    logit = paddle.log(fused / (1 - fused))
    return paddle.concat([per_anchor[:, :, :4], logit, per_anchor[:, :, 5:]], axis=2).reshape([0, -1, h, w])


class OwnedBoxes(NamedTuple):
    """The cells and anchors of one head that own a ground-truth box, and the IoU of the box each
    decodes there with that truth."""

    level: int
    index: paddle.Tensor  # [K, 4]: image, anchor of the head, row, column
    iou: paddle.Tensor  # [K]
    weight: paddle.Tensor  # [K]: the box's score (< 1 for mixed-up images)


def owned_boxes(
    outputs: list[paddle.Tensor],
    boxes: np.ndarray,
    scores: np.ndarray,
    anchors: list[int],
    anchor_masks: list[list[int]],
    image_shape: list[int],
    scale_x_y: float = SCALE_X_Y,
) -> list[OwnedBoxes]:
    """Per head, the boxes decoded at the cell and anchor that own each ground-truth box (the anchor of
    best width/height IoU, as YOLOv3 assigns) and their IoU with it.

    ``outputs`` in YOLOv3's layout; ``boxes`` [N, B, 4] normalised (cx, cy, w, h), zero-width for
    padding; ``scores`` [N, B] weigh each box (mixup)."""
    h_in, w_in = image_shape
    pairs = np.asarray(anchors, np.float32).reshape(-1, 2)
    owned = []
    for level, (out, mask) in enumerate(zip(outputs, anchor_masks)):
        n, _, gh, gw = out.shape
        per_anchor = out.reshape([n, len(mask), -1, gh, gw])
        index, truth, weight, anchor_wh = [], [], [], []
        for i in range(boxes.shape[0]):
            for b in range(boxes.shape[1]):
                cx, cy, bw, bh = boxes[i, b]
                if bw <= 0 or bh <= 0:
                    continue
                w_px, h_px = bw * w_in, bh * h_in
                inter = np.minimum(pairs[:, 0], w_px) * np.minimum(pairs[:, 1], h_px)
                best = int(np.argmax(inter / (pairs[:, 0] * pairs[:, 1] + w_px * h_px - inter)))
                if best not in mask:
                    continue
                gx, gy = min(int(cx * gw), gw - 1), min(int(cy * gh), gh - 1)
                index.append([i, mask.index(best), gy, gx])
                truth.append([cx, cy, bw, bh])
                weight.append(scores[i, b])
                anchor_wh.append(pairs[best] / [w_in, h_in])
        if not index:
            continue
        at = paddle.to_tensor(index)
        picked = paddle.gather_nd(per_anchor.transpose([0, 1, 3, 4, 2]), at)[:, :4]
        cells = paddle.to_tensor(np.asarray(index, np.float32)[:, [3, 2]])
        grid = paddle.to_tensor([gw, gh], dtype="float32")
        centre = (cells + F.sigmoid(picked[:, :2]) * scale_x_y - (scale_x_y - 1) / 2) / grid
        size = paddle.exp(picked[:, 2:4].clip(max=8.0)) * paddle.to_tensor(np.asarray(anchor_wh, np.float32))
        iou = box_iou(paddle.concat([centre, size], axis=1), paddle.to_tensor(np.asarray(truth, np.float32)))
        owned.append(OwnedBoxes(level, at, iou, paddle.to_tensor(weight, "float32")))
    return owned


def iou_loss(owned: list[OwnedBoxes], n_images: int) -> paddle.Tensor:
    """PP-YOLO's IoU loss, ``2.5 · (1 − IoU²)`` per owned ground-truth box, averaged per image."""
    total = paddle.zeros([])
    for o in owned:
        total = total + (IOU_LOSS_WEIGHT * (1 - o.iou**2) * o.weight).sum()
    return total / max(1, n_images)


def iou_aware_loss(owned: list[OwnedBoxes], iou_logits: list[paddle.Tensor], n_images: int) -> paddle.Tensor:
    """The IoU branch's loss: binary cross-entropy of its logit at each owned cell and anchor against
    the IoU the box decoded there reaches (a target, no gradient through it), averaged per image."""
    total = paddle.zeros([])
    for o in owned:
        logits = paddle.gather_nd(iou_logits[o.level], o.index)
        target = o.iou.detach()
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        total = total + (bce * o.weight).sum()
    return total / max(1, n_images)


def box_iou(a: paddle.Tensor, b: paddle.Tensor) -> paddle.Tensor:
    """Row-wise IoU of (cx, cy, w, h) boxes."""
    a1, a2 = a[:, :2] - a[:, 2:] / 2, a[:, :2] + a[:, 2:] / 2
    b1, b2 = b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2
    wh = (paddle.minimum(a2, b2) - paddle.maximum(a1, b1)).clip(min=0)
    inter = wh[:, 0] * wh[:, 1]
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return inter / union.clip(min=1e-9)

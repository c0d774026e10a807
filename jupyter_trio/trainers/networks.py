"""The networks, all built from random initialisation (no weights can be downloaded here).

classification: PaddleX's 21 classifiers (``backbones.py``);
segmentation: a UNet, a DeepLabV3+ (any ``backbones.Backbone``, ASPP, decoder), HRNet_W18 and FastSCNN
(``segmenters.py``);
detection: YOLOv3 (backbone, FPN neck, three heads; ``paddle.vision.ops.yolo_loss`` / ``yolo_box`` / ``nms``)
PPYOLO (YOLOv3 with PP-YOLO's additions, ``ppyolo.py``) and FasterRCNN (``rcnn.py``);
instance segmentation: MaskRCNN (``rcnn.py``), and MaskYOLO — the YOLOv3 detector plus a RoIAlign mask head.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.vision.ops import roi_align

from ..vocabulary import SEGMENTATION_TYPES
from .backbones import Backbone, classifier, leaky_relu
from .backbones import conv_bn as backbone_conv_bn
from .boxes import MASK_SIZE
from .ppyolo import SCALE_X_Y, deform_last_stage, fuse_iou_aware, split_iou_aware
from .ppyolo import neck as ppyolo_neck
from .rcnn import RCNN
from .segmenters import FastSCNN, HRNet

# YOLOv3's anchors, scaled for small images (pixels at a 128 × 128 input); three per output stride.
ANCHORS = [6, 7, 10, 14, 16, 12, 15, 27, 28, 20, 26, 38, 44, 34, 50, 56, 84, 80]
ANCHOR_MASKS = [[6, 7, 8], [3, 4, 5], [0, 1, 2]]  # stride 32, 16, 8
STRIDES = [32, 16, 8]


def conv_bn(cin: int, cout: int, k: int = 3, s: int = 1) -> nn.Sequential:
    """The YOLO neck's block: ``backbones.conv_bn`` with LeakyReLU."""
    return backbone_conv_bn(cin, cout, k, s, act=leaky_relu)


class UNet(nn.Layer):
    def __init__(self, num_classes: int, width: int = 16, in_channels: int = 3):
        super().__init__()
        c = [width, width * 2, width * 4, width * 8]

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2D(cin, cout, 3, padding=1, bias_attr=False),
                nn.BatchNorm2D(cout),
                nn.ReLU(),
                nn.Conv2D(cout, cout, 3, padding=1, bias_attr=False),
                nn.BatchNorm2D(cout),
                nn.ReLU(),
            )

        self.down = nn.LayerList(
            [block(in_channels, c[0]), block(c[0], c[1]), block(c[1], c[2]), block(c[2], c[3])]
        )
        self.up = nn.LayerList([block(c[3] + c[2], c[2]), block(c[2] + c[1], c[1]), block(c[1] + c[0], c[0])])
        self.head = nn.Conv2D(c[0], num_classes, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        skips = []
        for i, layer in enumerate(self.down):
            x = layer(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for layer, skip in zip(self.up, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = layer(paddle.concat([x, skip], axis=1))
        return self.head(x)


class DeepLabV3P(nn.Layer):
    """DeepLabV3+: backbone, atrous spatial pyramid pooling on stride-16/32 features, a stride-4 decoder."""

    def __init__(self, num_classes: int, backbone: str = "ResNet18", in_channels: int = 3):
        super().__init__()
        self.backbone = Backbone(backbone, in_channels)
        low, high = self.backbone.channels[0], self.backbone.channels[3]
        self.aspp = nn.LayerList(
            [nn.Sequential(nn.Conv2D(high, 128, 1, bias_attr=False), nn.BatchNorm2D(128), nn.ReLU())]
            + [
                nn.Sequential(
                    nn.Conv2D(high, 128, 3, padding=d, dilation=d, bias_attr=False),
                    nn.BatchNorm2D(128),
                    nn.ReLU(),
                )
                for d in (1, 2, 3)
            ]
        )
        self.pool_proj = nn.Sequential(nn.Conv2D(high, 128, 1), nn.ReLU())
        self.project = nn.Sequential(
            nn.Conv2D(128 * 5, 128, 1, bias_attr=False), nn.BatchNorm2D(128), nn.ReLU()
        )
        self.low_proj = nn.Sequential(nn.Conv2D(low, 48, 1, bias_attr=False), nn.BatchNorm2D(48), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.Conv2D(176, 128, 3, padding=1, bias_attr=False),
            nn.BatchNorm2D(128),
            nn.ReLU(),
            nn.Conv2D(128, num_classes, 1),
        )

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        size = x.shape[2:]
        feats = self.backbone(x)
        high = feats[3]
        pooled = F.interpolate(
            self.pool_proj(F.adaptive_avg_pool2d(high, 1)), size=high.shape[2:], mode="nearest"
        )
        y = self.project(paddle.concat([branch(high) for branch in self.aspp] + [pooled], axis=1))
        low = self.low_proj(feats[0])
        y = F.interpolate(y, size=low.shape[2:], mode="bilinear", align_corners=False)
        y = self.decoder(paddle.concat([y, low], axis=1))
        return F.interpolate(y, size=size, mode="bilinear", align_corners=False)


def yolo_neck(c8: int, c16: int, c32: int) -> dict[str, nn.Layer]:
    return {
        "lat32": nn.Sequential(conv_bn(c32, 256, 1), conv_bn(256, 256)),
        "lat16": nn.Sequential(conv_bn(c16 + 128, 128, 1), conv_bn(128, 128)),
        "lat8": nn.Sequential(conv_bn(c8 + 64, 64, 1), conv_bn(64, 64)),
    }


class YOLOv3(nn.Layer):
    """Backbone → top-down FPN → one 1×1 head per stride (3 anchors × (5 + classes) channels)."""

    # how the heads are trained and decoded (PPYOLO changes these)
    scale_x_y = 1.0
    iou_loss = False
    matrix_nms = False

    def __init__(
        self,
        num_classes: int,
        backbone: str = "ResNet18",
        with_mask: bool = False,
        neck: Callable[[int, int, int], dict[str, nn.Layer]] | None = None,
        iou_aware: bool = False,
    ):
        """``neck``: the lateral layers ``lat32``, ``lat16``, ``lat8`` for the backbone's stride 8, 16
        and 32 widths (YOLOv3's own by default; PPYOLO passes its own). ``iou_aware``: one more channel
        per anchor, after YOLOv3's, for PPYOLO's IoU branch."""
        super().__init__()
        self.num_classes = num_classes
        self.iou_aware = iou_aware
        self.backbone = Backbone(backbone)
        c8, c16, c32 = self.backbone.channels[1:]
        for name, layer in (neck or yolo_neck)(c8, c16, c32).items():
            setattr(self, name, layer)
        self.reduce32, self.reduce16 = conv_bn(256, 128, 1), conv_bn(128, 64, 1)
        out = 3 * (5 + num_classes) + (3 if iou_aware else 0)
        self.heads = nn.LayerList([nn.Conv2D(256, out, 1), nn.Conv2D(128, out, 1), nn.Conv2D(64, out, 1)])
        self.with_mask = with_mask
        if with_mask:
            self.mask_head = nn.Sequential(
                conv_bn(64, 64),
                conv_bn(64, 64),
                nn.Conv2DTranspose(64, 64, 2, 2),
                nn.ReLU(),
                nn.Conv2D(64, num_classes, 1),
            )

    def features(self, x: paddle.Tensor) -> tuple[list[paddle.Tensor], paddle.Tensor]:
        _, f8, f16, f32 = self.backbone(x)
        p32 = self.lat32(f32)
        up = F.interpolate(self.reduce32(p32), size=f16.shape[2:], mode="nearest")
        p16 = self.lat16(paddle.concat([f16, up], axis=1))
        up = F.interpolate(self.reduce16(p16), size=f8.shape[2:], mode="nearest")
        p8 = self.lat8(paddle.concat([f8, up], axis=1))
        return [head(p) for head, p in zip(self.heads, (p32, p16, p8))], p8

    def forward(self, x: paddle.Tensor) -> list[paddle.Tensor]:
        return self.features(x)[0]

    def training_heads(self, x: paddle.Tensor) -> tuple[list[paddle.Tensor], list[paddle.Tensor] | None]:
        """The heads in YOLOv3's layout for its loss, and the IoU branch's logits (None without one)."""
        return self.features(x)[0], None

    def masks(self, p8: paddle.Tensor, boxes: paddle.Tensor, boxes_num: paddle.Tensor) -> paddle.Tensor:
        """Per-box mask logits [R, classes, 28, 28] from stride-8 features; boxes in input pixels."""
        rois = roi_align(
            p8,
            boxes,
            boxes_num,
            output_size=MASK_SIZE // 2,
            spatial_scale=1 / 8,
            sampling_ratio=2,
            aligned=True,
        )
        return self.mask_head(rois)


class PPYOLO(YOLOv3):
    """YOLOv3 with PP-YOLO's additions: deformable convolutions in the backbone's last stage, CoordConv,
    SPP and DropBlock in the neck, grid-sensitive centres, an IoU loss and matrix NMS."""

    def __init__(self, num_classes: int, backbone: str = "ResNet50_vd_ssld", params: Any = None):
        """``params``: PaddleX's switches (``with_dcn_v2``, ``use_coord_conv``, ``use_spp``,
        ``use_drop_block``, ``use_iou_loss``, ``use_iou_aware``, ``use_matrix_nms``, ``scale_x_y``); all
        on when None."""

        def switch(name: str, default: Any = True) -> Any:
            return default if params is None else getattr(params, name)

        def neck(c8: int, c16: int, c32: int) -> dict[str, nn.Layer]:
            return ppyolo_neck(
                c8, c16, c32, switch("use_coord_conv"), switch("use_spp"), switch("use_drop_block")
            )

        super().__init__(num_classes, backbone, neck=neck, iou_aware=switch("use_iou_aware"))
        if switch("with_dcn_v2"):
            deform_last_stage(self.backbone)
        self.scale_x_y = switch("scale_x_y", SCALE_X_Y)
        self.iou_loss = switch("use_iou_loss")
        self.matrix_nms = switch("use_matrix_nms")

    def features(self, x: paddle.Tensor) -> tuple[list[paddle.Tensor], paddle.Tensor]:
        """The heads in YOLOv3's layout, the IoU branch folded into the objectness."""
        heads, p8 = YOLOv3.features(self, x)
        if not self.iou_aware:
            return heads, p8
        fused = []
        for head in heads:  # a plain loop: paddle.jit's export does not translate comprehensions
            yolo, iou = split_iou_aware(head, 3)
            fused.append(fuse_iou_aware(yolo, iou))
        return fused, p8

    def training_heads(self, x: paddle.Tensor) -> tuple[list[paddle.Tensor], list[paddle.Tensor] | None]:
        heads, _ = YOLOv3.features(self, x)
        if not self.iou_aware:
            return heads, None
        parts = [split_iou_aware(head, 3) for head in heads]
        return [p[0] for p in parts], [p[1] for p in parts]


BN_MOMENTUM = 0.9


def build(task_type: str, params: Any, num_classes: int, in_channels: int = 3) -> nn.Layer:
    """The network of a task; ``in_channels`` is the number of image bands (segmentation models)."""
    if task_type == "classification":
        model = classifier(params.model, num_classes)
    elif task_type in SEGMENTATION_TYPES:
        if params.model == "UNet":
            model = UNet(num_classes, in_channels=in_channels)
        elif params.model == "HRNet_W18":
            model = HRNet(num_classes, width=18, in_channels=in_channels)
        elif params.model == "FastSCNN":
            model = FastSCNN(num_classes, in_channels=in_channels)
        else:
            model = DeepLabV3P(num_classes, params.backbone, in_channels)
    elif params.model == "PPYOLO":
        model = PPYOLO(num_classes, params.backbone, params)
    elif params.model in ("FasterRCNN", "MaskRCNN"):
        model = RCNN(num_classes, params.backbone, params.with_fpn, with_mask=params.model == "MaskRCNN")
    else:
        model = YOLOv3(num_classes, params.backbone, with_mask=task_type == "instance_segmentation")
    # paddle.vision's MobileNetV3 keeps 99% of its batch-norm running statistics per step (ImageNet
    # scale): on a few hundred images they never converge and evaluation collapses. 0.9 tracks them.
    for layer in model.sublayers():
        if isinstance(layer, nn.BatchNorm2D):
            layer._momentum = BN_MOMENTUM
    return model


def count_parameters(model: nn.Layer) -> int:
    return int(sum(p.size for p in model.parameters()))

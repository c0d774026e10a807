"""PaddleX's backbones by their PaddleX names, as classifiers and as feature extractors.

``paddle.vision.models`` gives the plain ResNets, MobileNets, DenseNets and ShuffleNetV2; written here
are what it lacks: the ``_vd`` ResNets (deep 3×3 stem, average-pool shortcut on downsampling — the
"bag of tricks" ResNet-D that PaddleClas trains), DarkNet53 (YOLOv3's own backbone) and Xception41/65
(the entry/middle/exit flows of separable convolutions; 65 is DeepLab's). ``_ssld`` names are the same
architectures (SSLD is a distillation recipe for ImageNet weights, which cannot be downloaded here).

A feature extractor (:class:`Backbone`) gives the maps at strides 4, 8, 16 and 32 for the detection
necks and segmentation decoders.
"""

from __future__ import annotations

from collections.abc import Callable

import paddle
import paddle.nn as nn
from paddle.vision import models as zoo

from .model_zoo import CLASSIFIERS, MOBILENETV2_SCALES, architecture  # noqa: F401 (re-exported)


def leaky_relu() -> nn.Layer:
    return nn.LeakyReLU(0.1)  # DarkNet's and YOLOv3's slope


def conv_bn(
    cin: int,
    cout: int,
    k: int = 3,
    s: int = 1,
    groups: int = 1,
    act: Callable[[], nn.Layer] | None = nn.ReLU,
) -> nn.Sequential:
    """Convolution (no bias), batch norm, then ``act`` (none when ``None``): every model's building block."""
    layers: list[nn.Layer] = [
        nn.Conv2D(cin, cout, k, s, k // 2, groups=groups, bias_attr=False),
        nn.BatchNorm2D(cout),
    ]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


# ---- ResNet-vd
def resnet_vd(depth: int, num_classes: int = -1, with_pool: bool = True) -> zoo.ResNet:
    """paddle.vision's ResNet with the vd changes: a deep stem of three 3×3 convolutions instead of the
    7×7, and shortcuts that average-pool before their 1×1 convolution instead of striding it."""
    build = {50: zoo.resnet50, 101: zoo.resnet101}[depth]
    net = build(pretrained=False, num_classes=num_classes, with_pool=with_pool)
    net.conv1 = nn.Sequential(
        conv_bn(3, 32, 3, 2), conv_bn(32, 32, 3, 1), nn.Conv2D(32, 64, 3, 1, 1, bias_attr=False)
    )  # net.bn1 + relu follow
    for stage in (net.layer1, net.layer2, net.layer3, net.layer4):
        block = stage[0]
        if block.downsample is None:
            continue
        conv = block.downsample[0]
        stride = conv._stride[0] if isinstance(conv._stride, (list, tuple)) else conv._stride
        if stride == 1:
            continue
        block.downsample = nn.Sequential(
            nn.AvgPool2D(stride, stride, ceil_mode=True),
            nn.Conv2D(conv._in_channels, conv._out_channels, 1, bias_attr=False),
            block.downsample[1],
        )
    return net


# ---- DarkNet53
class _DarkResidual(nn.Layer):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(channels, channels // 2, 1, act=leaky_relu),
            conv_bn(channels // 2, channels, act=leaky_relu),
        )

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return x + self.body(x)


def darknet53_layers() -> list[nn.Layer]:
    """Stem (stride 1) and five downsampling stages (strides 2 … 32) with 1, 2, 8, 8, 4 residuals."""
    layers: list[nn.Layer] = [conv_bn(3, 32, act=leaky_relu)]
    cin = 32
    for cout, repeats in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)):
        layers.append(
            nn.Sequential(
                conv_bn(cin, cout, 3, 2, act=leaky_relu), *[_DarkResidual(cout) for _ in range(repeats)]
            )
        )
        cin = cout
    return layers


# ---- Xception
class _SeparableConv(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int = 1, relu_first: bool = True):
        layers: list[nn.Layer] = [nn.ReLU()] if relu_first else []
        layers += [
            nn.Conv2D(cin, cin, 3, stride, 1, groups=cin, bias_attr=False),
            nn.BatchNorm2D(cin),
            nn.Conv2D(cin, cout, 1, bias_attr=False),
            nn.BatchNorm2D(cout),
        ]
        super().__init__(*layers)


class _XceptionBlock(nn.Layer):
    """Three separable convolutions (the last one strided) beside a shortcut."""

    def __init__(self, cin: int, channels: tuple[int, int, int], stride: int, relu_first: bool = True):
        super().__init__()
        c1, c2, c3 = channels
        self.body = nn.Sequential(
            _SeparableConv(cin, c1, relu_first=relu_first),
            _SeparableConv(c1, c2),
            _SeparableConv(c2, c3, stride),
        )
        self.shortcut = (
            nn.Sequential(nn.Conv2D(cin, c3, 1, stride, bias_attr=False), nn.BatchNorm2D(c3))
            if stride != 1 or cin != c3
            else None
        )

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


def xception_layers(middle_repeats: int) -> list[nn.Layer]:
    """Entry flow (strides 2 … 16), ``middle_repeats`` middle blocks at 728 channels, exit flow (32)."""
    layers: list[nn.Layer] = [
        nn.Sequential(conv_bn(3, 32, 3, 2), conv_bn(32, 64)),  # stride 2
        _XceptionBlock(64, (128, 128, 128), 2, relu_first=False),  # 4
        _XceptionBlock(128, (256, 256, 256), 2),  # 8
        _XceptionBlock(256, (728, 728, 728), 2),  # 16
        *[_XceptionBlock(728, (728, 728, 728), 1) for _ in range(middle_repeats)],
        _XceptionBlock(728, (728, 1024, 1024), 2),  # 32
        nn.Sequential(
            _SeparableConv(1024, 1536), nn.ReLU(), _SeparableConv(1536, 1536, relu_first=False), nn.ReLU()
        ),
        nn.Sequential(_SeparableConv(1536, 2048, relu_first=False), nn.ReLU()),
    ]
    return layers


XCEPTION_MIDDLE = {"Xception41": 8, "Xception65": 16}


class _Classifier(nn.Layer):
    """Layers, global average pooling, a linear head."""

    def __init__(self, layers: list[nn.Layer], channels: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2D(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.fc(paddle.flatten(self.pool(self.features(x)), 1))


def classifier(name: str, num_classes: int) -> nn.Layer:
    """A classification network by its PaddleX name, randomly initialised."""
    arch = architecture(name)
    if arch == "DarkNet53":
        return _Classifier(darknet53_layers(), 1024, num_classes)
    if arch in XCEPTION_MIDDLE:
        return _Classifier(xception_layers(XCEPTION_MIDDLE[arch]), 2048, num_classes)
    if arch.endswith("_vd"):
        return resnet_vd(int(arch[len("ResNet") : -len("_vd")]), num_classes)
    build = {
        "MobileNetV1": zoo.mobilenet_v1,
        "MobileNetV2": zoo.mobilenet_v2,
        "MobileNetV3_small": zoo.mobilenet_v3_small,
        "MobileNetV3_large": zoo.mobilenet_v3_large,
        "ResNet18": zoo.resnet18,
        "ResNet34": zoo.resnet34,
        "ResNet50": zoo.resnet50,
        "ResNet101": zoo.resnet101,
        "DenseNet121": zoo.densenet121,
        "DenseNet161": zoo.densenet161,
        "DenseNet201": zoo.densenet201,
        "ShuffleNetV2": zoo.shufflenet_v2_x1_0,
    }[arch]
    return build(pretrained=False, num_classes=num_classes)


# ---- feature extractors
def _layers_of(name: str) -> list[nn.Layer]:
    arch = architecture(name)
    if arch == "DarkNet53":
        return darknet53_layers()
    if arch in XCEPTION_MIDDLE:
        return xception_layers(XCEPTION_MIDDLE[arch])[:-2]  # the exit flow's widening is the classifier's
    if arch.startswith("MobileNetV2_x"):
        scale = float(arch.removeprefix("MobileNetV2_x"))
        return list(zoo.mobilenet_v2(pretrained=False, num_classes=-1, with_pool=False, scale=scale).features)
    if arch == "MobileNetV1":
        net = zoo.mobilenet_v1(pretrained=False, num_classes=-1, with_pool=False)
        return [layer for _, layer in net.named_children()]
    if arch in ("ResNet34", "ResNet50", "ResNet101", "ResNet50_vd", "ResNet101_vd"):
        if arch.endswith("_vd"):
            net = resnet_vd(int(arch[len("ResNet") : -len("_vd")]), -1, with_pool=False)
        else:
            net = getattr(zoo, arch.lower())(pretrained=False, num_classes=-1, with_pool=False)
        return [
            nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool),
            net.layer1,
            net.layer2,
            net.layer3,
            net.layer4,
        ]
    raise ValueError(f"no feature extractor for {name!r}")


def _split_by_stride(layers: list[nn.Layer]) -> tuple[nn.Layer, list[nn.Sequential]]:
    """Cut a plain sequence of layers into a stem and four stages ending at strides 4, 8, 16 and 32."""
    seq = nn.Sequential(*layers)
    seq.eval()  # the probe must not move batch-norm statistics
    last_at: dict[int, int] = {}
    with paddle.no_grad():
        x = paddle.zeros([1, 3, 64, 64])
        for i, layer in enumerate(layers):
            x = layer(x)
            last_at[64 // x.shape[2]] = i
    seq.train()
    taps = [last_at[s] for s in (4, 8, 16, 32)]
    stem = layers[0] if taps[0] > 0 else nn.Identity()
    bounds = [1 if taps[0] > 0 else 0, *[t + 1 for t in taps]]
    stages = [nn.Sequential(*layers[a:b]) for a, b in zip(bounds, bounds[1:])]
    return stem, stages


def _widen_input(layer: nn.Layer, in_channels: int) -> None:
    """Give the first convolution of ``layer`` ``in_channels`` inputs (images of N bands)."""
    for name, conv in layer.named_sublayers():
        if isinstance(conv, nn.Conv2D):
            *path, last = name.split(".")
            parent = layer
            for part in path:
                parent = getattr(parent, part)
            setattr(
                parent,
                last,
                nn.Conv2D(
                    in_channels,
                    conv._out_channels,
                    conv._kernel_size,
                    conv._stride,
                    conv._padding,
                    groups=1,
                    bias_attr=False if conv.bias is None else None,
                ),
            )
            return
    raise ValueError("no convolution to widen")


class Backbone(nn.Layer):
    """Feature maps at strides 4, 8, 16 and 32 (``channels`` says how wide each is) of images with
    ``in_channels`` bands."""

    def __init__(self, name: str, in_channels: int = 3):
        super().__init__()
        self.name = name
        arch = architecture(name)
        if arch == "ResNet18":  # the first two backbones keep their parameter names (older checkpoints)
            r = zoo.resnet18(pretrained=False, num_classes=-1, with_pool=False)
            self.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool)
            self.stages = nn.LayerList([r.layer1, r.layer2, r.layer3, r.layer4])
        elif arch == "MobileNetV3_large":
            m = zoo.mobilenet_v3_large(pretrained=False, num_classes=-1, with_pool=False)
            blocks = list(m.blocks)
            self.stem = m.conv
            cuts = [(0, 3), (3, 6), (6, 12), (12, 15)]
            self.stages = nn.LayerList([nn.Sequential(*blocks[a:b]) for a, b in cuts])
        else:
            stem, stages = _split_by_stride(_layers_of(name))
            self.stem, self.stages = stem, nn.LayerList(stages)
        if in_channels != 3:
            _widen_input(self.stem if not isinstance(self.stem, nn.Identity) else self.stages[0], in_channels)
        self.in_channels = in_channels
        self.channels = self._probe_channels()

    def _probe_channels(self) -> list[int]:
        self.eval()
        with paddle.no_grad():
            feats = self(paddle.zeros([1, self.in_channels, 64, 64]))
        self.train()
        return [f.shape[1] for f in feats]

    def forward(self, x: paddle.Tensor) -> list[paddle.Tensor]:
        x = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats  # strides 4, 8, 16, 32

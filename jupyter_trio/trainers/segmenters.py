"""PaddleX's two segmentation networks that are not encoder + decoder on a backbone: HRNet_W18 and FastSCNN.

HRNet (Wang et al., 2019) keeps a stride-4 branch through the whole network and adds stride 8, 16 and 32
branches stage by stage, exchanging information between all of them after every module; the head
concatenates every branch at stride 4. W18 is the width of the first branch (18, 36, 72, 144).

Fast-SCNN (Poudel et al., 2019) is a real-time two-branch network: a shallow "learning to downsample" path
to stride 8, a global feature extractor of inverted residuals with pyramid pooling at stride 32, fused back
at stride 8, and a light classifier.
"""

from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .backbones import conv_bn


def resize(x: paddle.Tensor, like: paddle.Tensor) -> paddle.Tensor:
    """``x`` at ``like``'s height and width (written plainly: paddle.jit.save traces it)."""
    return F.interpolate(x, size=like.shape[2:], mode="bilinear", align_corners=False)


# ---- HRNet
class _Basic(nn.Layer):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels, act=None))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.relu(x + self.body(x))


class _Bottleneck(nn.Layer):
    def __init__(self, cin: int, width: int):
        super().__init__()
        cout = width * 4
        self.body = nn.Sequential(
            conv_bn(cin, width, 1), conv_bn(width, width), conv_bn(width, cout, 1, act=None)
        )
        self.shortcut = conv_bn(cin, cout, 1, act=None) if cin != cout else None

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return F.relu(self.body(x) + (x if self.shortcut is None else self.shortcut(x)))


class _HRModule(nn.Layer):
    """Four basic blocks per branch, then every branch receives the sum of all branches at its resolution
    (strided 3×3 convolutions going down, 1×1 convolution + upsampling going up)."""

    def __init__(self, channels: list[int]):
        super().__init__()
        self.branches = nn.LayerList([nn.Sequential(*[_Basic(c) for _ in range(4)]) for c in channels])
        self.fuse = nn.LayerList()
        for i, ci in enumerate(channels):
            row = nn.LayerList()
            for j, cj in enumerate(channels):
                if j == i:
                    row.append(nn.Identity())
                elif j > i:  # coarser branch → up to i
                    row.append(conv_bn(cj, ci, 1, act=None))
                else:  # finer branch → down (i - j) times
                    steps = [conv_bn(cj, cj, 3, 2) for _ in range(i - j - 1)]
                    row.append(nn.Sequential(*steps, conv_bn(cj, ci, 3, 2, act=None)))
            self.fuse.append(row)

    def forward(self, xs: list[paddle.Tensor]) -> list[paddle.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        out = []
        for i, row in enumerate(self.fuse):
            total = xs[i]
            for j, layer in enumerate(row):
                if j == i:
                    continue
                y = layer(xs[j])
                total = total + (resize(y, xs[i]) if j > i else y)
            out.append(F.relu(total))
        return out


class HRNet(nn.Layer):
    """HRNet_W18 (``width`` 18) for segmentation: modules per stage 1, 4, 3 as in the paper's W18."""

    def __init__(self, num_classes: int, width: int = 18, in_channels: int = 3):
        super().__init__()
        c = [width, width * 2, width * 4, width * 8]
        self.stem = nn.Sequential(conv_bn(in_channels, 64, 3, 2), conv_bn(64, 64, 3, 2))
        self.layer1 = nn.Sequential(_Bottleneck(64, 64), *[_Bottleneck(256, 64) for _ in range(3)])
        self.to2 = nn.LayerList([conv_bn(256, c[0]), conv_bn(256, c[1], 3, 2)])
        self.stage2 = nn.Sequential(_HRModule(c[:2]))
        self.to3 = conv_bn(c[1], c[2], 3, 2)
        self.stage3 = nn.LayerList([_HRModule(c[:3]) for _ in range(4)])
        self.to4 = conv_bn(c[2], c[3], 3, 2)
        self.stage4 = nn.LayerList([_HRModule(c) for _ in range(3)])
        self.channels = c
        total = sum(c)
        # num_classes 0: no head (the detectors' HRNet_W18 backbone reads the four branches)
        self.head = (
            nn.Sequential(conv_bn(total, total, 1), nn.Conv2D(total, num_classes, 1)) if num_classes else None
        )

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        xs = self.branches(x)
        merged = paddle.concat([xs[0], *[resize(b, xs[0]) for b in xs[1:]]], axis=1)
        return resize(self.head(merged), x)

    def branches(self, x: paddle.Tensor) -> list[paddle.Tensor]:
        """The four branches at strides 4, 8, 16 and 32."""
        y = self.layer1(self.stem(x))
        xs = self.stage2([layer(y) for layer in self.to2])
        xs = [*xs, self.to3(xs[-1])]
        for module in self.stage3:
            xs = module(xs)
        xs = [*xs, self.to4(xs[-1])]
        for module in self.stage4:
            xs = module(xs)
        return xs


# ---- Fast-SCNN
def _dsconv(cin: int, cout: int, s: int = 1) -> nn.Sequential:
    """Depthwise-separable convolution."""
    return nn.Sequential(conv_bn(cin, cin, 3, s, groups=cin), conv_bn(cin, cout, 1))


class _InvertedResidual(nn.Layer):
    def __init__(self, cin: int, cout: int, stride: int, expand: int = 6):
        super().__init__()
        hidden = cin * expand
        self.body = nn.Sequential(
            conv_bn(cin, hidden, 1),
            conv_bn(hidden, hidden, 3, stride, groups=hidden),
            conv_bn(hidden, cout, 1, act=None),
        )
        self.residual = stride == 1 and cin == cout

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class _PyramidPooling(nn.Layer):
    def __init__(self, channels: int, bins: tuple[int, ...] = (1, 2, 3, 6)):
        super().__init__()
        self.bins = bins
        self.stages = nn.LayerList([conv_bn(channels, channels // 4, 1) for _ in bins])
        self.project = conv_bn(channels * 2, channels, 1)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        pooled = [resize(stage(F.adaptive_avg_pool2d(x, b)), x) for b, stage in zip(self.bins, self.stages)]
        return self.project(paddle.concat([x, *pooled], axis=1))


class FastSCNN(nn.Layer):
    def __init__(self, num_classes: int, in_channels: int = 3):
        super().__init__()
        self.downsample = nn.Sequential(
            conv_bn(in_channels, 32, 3, 2), _dsconv(32, 48, 2), _dsconv(48, 64, 2)
        )
        blocks: list[nn.Layer] = []
        for cin, cout, stride in ((64, 64, 2), (64, 96, 2), (96, 128, 1)):
            blocks += [
                _InvertedResidual(cin, cout, stride),
                *[_InvertedResidual(cout, cout, 1) for _ in range(2)],
            ]
        self.global_features = nn.Sequential(*blocks, _PyramidPooling(128))
        self.fuse_low = nn.Sequential(
            conv_bn(128, 128, 3, groups=128), nn.Conv2D(128, 128, 1), nn.BatchNorm2D(128)
        )
        self.fuse_high = nn.Sequential(nn.Conv2D(64, 128, 1), nn.BatchNorm2D(128))
        self.classifier = nn.Sequential(_dsconv(128, 128), _dsconv(128, 128), nn.Conv2D(128, num_classes, 1))

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        high = self.downsample(x)
        low = self.global_features(high)
        fused = F.relu(self.fuse_high(high) + self.fuse_low(resize(low, high)))
        return resize(self.classifier(fused), x)

"""The models a PaddleX client can pick, by their PaddleX names (no paddle import: the server reads this).

``_ssld`` names choose how PaddleX's ImageNet weights were made (distillation); the network is the same,
and here it trains from scratch or from a local weights path. Extras of ours keep their own names:
ResNet18 and MobileNetV3_large as detection/segmentation backbones, MaskYOLO for instance segmentation.
"""

from __future__ import annotations

CLASSIFIERS = (
    "MobileNetV1",
    "MobileNetV2",
    "MobileNetV3_small",
    "MobileNetV3_large",
    "MobileNetV3_small_ssld",
    "MobileNetV3_large_ssld",
    "ResNet18",
    "ResNet34",
    "ResNet50",
    "ResNet101",
    "ResNet50_vd",
    "ResNet101_vd",
    "ResNet50_vd_ssld",
    "ResNet101_vd_ssld",
    "DarkNet53",
    "Xception41",
    "Xception65",
    "DenseNet121",
    "DenseNet161",
    "DenseNet201",
    "ShuffleNetV2",
)
MOBILENETV2_SCALES = ("0.25", "0.5", "1.0", "1.5", "2.0")
# PaddleX's YOLOv3 backbones, then ours
YOLO_BACKBONES = ("DarkNet53", "ResNet34", "MobileNetV1", "MobileNetV3_large", "ResNet18")
# PaddleX's DeepLabv3p backbones, then ours
DEEPLAB_BACKBONES = (
    "Xception65",
    "Xception41",
    "MobileNetV3_large_x1_0_ssld",
    *(f"MobileNetV2_x{s}" for s in MOBILENETV2_SCALES),
    "ResNet18",
    "MobileNetV3_large",
)
# PP-YOLO's backbone in PaddleX (ResNet50-vd with deformable convolutions in its last stage), then ours
PPYOLO_BACKBONES = ("ResNet50_vd_ssld", "ResNet50_vd", "ResNet18")
# FasterRCNN's and MaskRCNN's backbones in PaddleX
RCNN_BACKBONES = ("ResNet18", "ResNet50", "ResNet50_vd", "ResNet101", "ResNet101_vd", "HRNet_W18")
# the backbone a model trains on when a client names none (PaddleX's YOLOv3 default is DarkNet53 and
# DeepLabv3p's Xception65; ResNet18 keeps CPU training on small data quick)
DEFAULT_BACKBONE = {
    "FasterRCNN": "ResNet18",  # PaddleX's default is ResNet50
    "MaskRCNN": "ResNet18",
    "YOLOv3": "ResNet18",
    "MaskYOLO": "ResNet18",
    "PPYOLO": "ResNet50_vd_ssld",
    "DeepLabv3p": "ResNet18",
}
SAME_ARCHITECTURE = {
    "MobileNetV3_small_ssld": "MobileNetV3_small",
    "MobileNetV3_large_ssld": "MobileNetV3_large",
    "MobileNetV3_large_x1_0_ssld": "MobileNetV3_large",
    "ResNet50_vd_ssld": "ResNet50_vd",
    "ResNet101_vd_ssld": "ResNet101_vd",
}
MODELS: dict[str, tuple[str, ...]] = {
    "classification": CLASSIFIERS,
    "detection": ("YOLOv3", "PPYOLO", "FasterRCNN"),
    "segmentation": ("UNet", "DeepLabv3p", "HRNet_W18", "FastSCNN"),
    "instance_segmentation": ("MaskYOLO", "MaskRCNN"),
}
# the backbones each model takes
MODEL_BACKBONES: dict[str, tuple[str, ...]] = {
    "YOLOv3": YOLO_BACKBONES,
    "MaskYOLO": YOLO_BACKBONES,
    "PPYOLO": PPYOLO_BACKBONES,
    "FasterRCNN": RCNN_BACKBONES,
    "MaskRCNN": RCNN_BACKBONES,
    "DeepLabv3p": DEEPLAB_BACKBONES,
}
# every backbone name a task type's parameters accept (which model takes which: MODEL_BACKBONES)
BACKBONES: dict[str, tuple[str, ...]] = {
    "detection": tuple(dict.fromkeys(YOLO_BACKBONES + PPYOLO_BACKBONES + RCNN_BACKBONES)),
    "segmentation": DEEPLAB_BACKBONES,
    "instance_segmentation": tuple(dict.fromkeys(YOLO_BACKBONES + RCNN_BACKBONES)),
}


def architecture(name: str) -> str:
    """The network a name builds (``_ssld`` names build their plain architecture)."""
    return SAME_ARCHITECTURE.get(name, name)

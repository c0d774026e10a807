"""Training parameters: PaddleX's field names (shared/spec/paddlex-params.md), our models and defaults.

``validate(task_type, train)`` checks a ``train`` dict a client sends and returns the complete, typed
parameters — unknown fields and bad values raise a :class:`~jupyter_trio.errors.ValidationFailed` naming
the field. Stored as JSON, never pickled. ``recommend.py`` recommends parameters for a dataset and machine.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import ValidationFailed
from .model_zoo import BACKBONES, CLASSIFIERS, DEEPLAB_BACKBONES, DEFAULT_BACKBONE, MODEL_BACKBONES, MODELS

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class CommonParams(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str
    cuda_visible_devices: str = Field(
        "",
        description="GPUs to train on, e.g. '0,1'; '' = CPU; several GPUs "
        "train data-parallel, one process per GPU",
    )
    cpu_processes: int = Field(
        1,
        ge=1,
        le=64,
        description="on the CPU: train data-parallel in this many "
        "processes (paddle.distributed over gloo), each "
        "with an equal share of the job's threads",
    )
    batch_size: int = Field(16, ge=1, le=4096)
    num_epochs: int = Field(20, ge=1, le=100_000)
    learning_rate: float = Field(0.01, gt=0, le=10)
    lr_decay_epochs: list[int] = Field(default_factory=lambda: [10, 15])
    save_interval_epochs: int = Field(1, ge=1)
    pretrain_weights: str | None = Field(
        None, description="a checkpoint or weights folder; IMAGENET cannot be downloaded here"
    )
    train_num: int | None = Field(None, ge=1, description="use only the first N training images")
    resume_checkpoint: str | None = None
    sensitivities_path: str | None = None
    eval_metric_loss: float = Field(0.05, ge=0, le=1)
    image_shape: list[int] = Field(default_factory=lambda: [64, 64], min_length=2, max_length=2)
    image_mean: list[float] = Field(default_factory=lambda: list(IMAGENET_MEAN), min_length=3, max_length=3)
    image_std: list[float] = Field(default_factory=lambda: list(IMAGENET_STD), min_length=3, max_length=3)
    horizontal_flip: bool = True
    horizontal_flip_prob: float = Field(0.5, ge=0, le=1)
    brightness: bool = True
    brightness_range: float = Field(0.5, ge=0, le=1)
    brightness_prob: float = Field(0.5, ge=0, le=1)
    contrast: bool = True
    contrast_range: float = Field(0.5, ge=0, le=1)
    contrast_prob: float = Field(0.5, ge=0, le=1)
    saturation: bool = True
    saturation_range: float = Field(0.5, ge=0, le=1)
    saturation_prob: float = Field(0.5, ge=0, le=1)
    hue: bool = True
    hue_range: int = Field(18, ge=0, le=180)
    hue_prob: float = Field(0.5, ge=0, le=1)
    seed: int = 0

    @field_validator("image_shape")
    @classmethod
    def _shape(cls, v: list[int]) -> list[int]:
        if any(s < 16 or s > 2048 or s % 16 for s in v):
            raise ValueError("each side must be a multiple of 16 between 16 and 2048")
        return v

    @field_validator("cuda_visible_devices")
    @classmethod
    def _gpus(cls, v: str) -> str:
        if v and not all(p.strip().isdigit() for p in v.split(",")):
            raise ValueError("a comma-separated list of GPU indices, or '' for CPU")
        return v

    @property
    def gpu_count(self) -> int:
        """How many GPUs ``cuda_visible_devices`` asks for (the runner assigns that many)."""
        return len([g for g in self.cuda_visible_devices.split(",") if g.strip()])

    @model_validator(mode="after")
    def _batch_splits(self) -> CommonParams:
        processes = self.gpu_count if self.gpu_count > 1 else self.cpu_processes
        if processes > 1 and self.batch_size < 2 * processes:
            raise ValueError(
                f"batch_size {self.batch_size} is too small to split over {processes} data-parallel "
                f"processes (each needs 2 images per step); use at least {2 * processes}"
            )
        return self

    @field_validator("pretrain_weights")
    @classmethod
    def _pretrain(cls, v: str | None) -> str | None:
        if v is not None and v.upper() == "IMAGENET":
            raise ValueError(
                "IMAGENET weights cannot be downloaded here (no network); pass a checkpoint or "
                "weights path, or null to train from random initialisation"
            )
        return v


class ClassifierParams(CommonParams):
    model: Literal[CLASSIFIERS] = "MobileNetV3_small"  # type: ignore[valid-type]
    lr_policy: Literal["Piecewise", "Cosine"] = "Cosine"
    optimizer: Literal["SGD", "Adam"] = Field(
        "SGD",
        description="SGD: momentum 0.9 with L2 4e-5, as PaddleX; "
        "Adam learns small datasets from scratch faster",
    )
    vertical_flip: bool = False
    vertical_flip_prob: float = Field(0.5, ge=0, le=1)
    rotate: bool = False
    rotate_prob: float = Field(0.5, ge=0, le=1)
    rotate_range: int = Field(30, ge=0, le=180)


def _backbone_of_model(params: CommonParams) -> None:
    """The model's default backbone when none was given; refuse one the model does not take."""
    model = params.model
    if "backbone" not in params.model_fields_set:
        params.backbone = DEFAULT_BACKBONE[model]
    elif params.backbone not in MODEL_BACKBONES[model]:
        raise ValueError(
            f"backbone {params.backbone!r} is not one of {model}'s: {', '.join(MODEL_BACKBONES[model])}"
        )


PPYOLO_SWITCHES = {
    "with_dcn_v2",
    "use_coord_conv",
    "use_spp",
    "use_drop_block",
    "use_iou_loss",
    "use_iou_aware",
    "use_matrix_nms",
    "scale_x_y",
}


class DetectorParams(CommonParams):
    model: Literal["YOLOv3", "PPYOLO", "FasterRCNN", "MaskYOLO", "MaskRCNN"] = "YOLOv3"
    # which model takes which backbone: model_zoo.MODEL_BACKBONES; the default is the model's own
    backbone: Literal[BACKBONES["detection"]] = "ResNet18"  # type: ignore[valid-type]
    with_fpn: bool = Field(
        True, description="FasterRCNN / MaskRCNN: a feature pyramid (P2-P6) or the stride-16 map"
    )
    use_ema: bool = Field(
        False,
        description="evaluate, save and export an exponential moving average of the weights "
        "(PaddleX's PPYOLO default, on for PPYOLO unless set)",
    )
    ema_decay: float = Field(0.9998, gt=0, lt=1)
    # PPYOLO's switches, named as PaddleX's PPYOLO took them (refused for the other models)
    with_dcn_v2: bool = Field(
        True, description="PPYOLO: deformable convolutions in the backbone's last stage"
    )
    use_coord_conv: bool = Field(True, description="PPYOLO: CoordConv in the neck")
    use_spp: bool = Field(True, description="PPYOLO: spatial pyramid pooling on the deepest level")
    use_drop_block: bool = Field(True, description="PPYOLO: DropBlock in the neck while training")
    use_iou_loss: bool = Field(True, description="PPYOLO: IoU loss beside YOLOv3's")
    use_iou_aware: bool = Field(
        True, description="PPYOLO: a predicted IoU per box, folded into its objectness score"
    )
    use_matrix_nms: bool = Field(True, description="PPYOLO: matrix NMS (else hard NMS)")
    scale_x_y: float = Field(1.05, ge=1, le=2, description="PPYOLO: grid sensitivity of the box centres")
    warmup_steps: int = Field(50, ge=0)
    warmup_start_lr: float = Field(0.0, ge=0)
    use_mixup: bool = False
    mixup_alpha: float = Field(1.5, gt=0)
    mixup_beta: float = Field(1.5, gt=0)
    expand_image: bool = False
    expand_prob: float = Field(0.5, ge=0, le=1)
    crop_image: bool = False
    random_shape: bool = False
    random_shape_sizes: list[int] = Field(default_factory=lambda: [96, 128, 160])

    @field_validator("random_shape_sizes")
    @classmethod
    def _sizes(cls, v: list[int]) -> list[int]:
        if not v or any(s < 32 or s > 2048 or s % 32 for s in v):
            raise ValueError(
                "must be multiples of 32 between 32 and 2048 (the detector's coarsest stride is 32)"
            )
        return v

    @model_validator(mode="after")
    def _model_defaults(self) -> DetectorParams:
        _backbone_of_model(self)
        if self.model == "PPYOLO" and "use_ema" not in self.model_fields_set:
            self.use_ema = True
        # stored parameters carry every field: only a switch moved from its default is another model's
        fields = type(self).model_fields
        switches = sorted(k for k in PPYOLO_SWITCHES if getattr(self, k) != fields[k].default)
        if self.model != "PPYOLO" and switches:
            raise ValueError(f"{', '.join(switches)}: PPYOLO's switches, not {self.model}'s")
        if self.model in ("FasterRCNN", "MaskRCNN") and self.use_mixup:
            raise ValueError(f"use_mixup: for the YOLO detectors; {self.model} does not mix images (PaddleX)")
        return self


class SegmenterParams(CommonParams):
    model: Literal[MODELS["segmentation"]] = "UNet"  # type: ignore[valid-type]
    # DeepLabv3p's backbone (PaddleX's default is Xception65; ResNet18 keeps CPU training quick)
    backbone: Literal[DEEPLAB_BACKBONES] = "ResNet18"  # type: ignore[valid-type]
    loss_type: list[bool] = Field(
        default_factory=lambda: [False, False],
        min_length=2,
        max_length=2,
        description="[use dice loss, use bce loss] next to cross-entropy",
    )
    lr_policy: Literal["Piecewise", "Cosine", "Polynomial"] = "Polynomial"
    optimizer: Literal["SGD", "Adam"] = "Adam"
    blur: bool = False
    blur_prob: float = Field(0.1, ge=0, le=1)
    rotate: bool = False
    max_rotation: int = Field(15, ge=0, le=180)
    scale_aspect: bool = False
    min_ratio: float = Field(0.5, gt=0, le=1)
    aspect_ratio: float = Field(0.33, ge=0, le=1)
    vertical_flip: bool = False
    vertical_flip_prob: float = Field(0.5, ge=0, le=1)


class RemoteSegmenterParams(SegmenterParams):
    """Segmentation of N-band images. Normalisation is PaddleX's for remote sensing: each band scaled by
    ``image_min`` / ``image_max`` to [0, 1], then by ``image_mean`` / ``image_std``; all four default to
    the statistics measured per band at import. Colour jitter is for RGB: brightness and contrast act on
    every band, saturation and hue are refused."""

    image_mean: list[float] | None = Field(None, min_length=1, max_length=64)  # type: ignore[assignment]
    image_std: list[float] | None = Field(None, min_length=1, max_length=64)  # type: ignore[assignment]
    image_min: list[float] | None = Field(None, min_length=1, max_length=64)
    image_max: list[float] | None = Field(None, min_length=1, max_length=64)
    brightness: bool = False
    contrast: bool = False
    saturation: bool = False
    hue: bool = False

    @model_validator(mode="after")
    def _bands(self) -> RemoteSegmenterParams:
        if self.saturation or self.hue:
            raise ValueError("saturation and hue: colour jitter of RGB images; these images have N bands")
        given = [v for v in (self.image_mean, self.image_std, self.image_min, self.image_max) if v]
        if len({len(v) for v in given}) > 1:
            raise ValueError("image_mean, image_std, image_min and image_max need one value per band each")
        if (self.image_min is None) != (self.image_max is None):
            raise ValueError("image_min and image_max: give both or neither")
        if (self.image_mean is None) != (self.image_std is None):
            raise ValueError("image_mean and image_std: give both or neither")
        if self.image_min is not None and self.image_mean is None:
            raise ValueError(
                "image_mean and image_std: the dataset's were measured after scaling by its own min and "
                "max; with image_min and image_max give them too"
            )
        if self.image_std and min(self.image_std) <= 0:
            raise ValueError("image_std: every band's std must be positive")
        if self.image_min and any(hi < lo for lo, hi in zip(self.image_min, self.image_max)):
            raise ValueError("image_max: must not be below image_min in any band")
        return self

    def with_band_stats(self, stats: dict[str, list[float]]) -> RemoteSegmenterParams:
        """These parameters with the dataset's per-band statistics where none were given."""
        names = {"image_mean": "mean", "image_std": "std", "image_min": "min", "image_max": "max"}
        update = {field: stats[key] for field, key in names.items() if getattr(self, field) is None}
        return self.model_copy(update=update) if update else self


PARAMS_BY_TYPE: dict[str, type[CommonParams]] = {
    "classification": ClassifierParams,
    "detection": DetectorParams,
    "segmentation": SegmenterParams,
    "instance_segmentation": DetectorParams,
    "remote_segmentation": RemoteSegmenterParams,
}


def parse_train(train: Any) -> dict[str, Any]:
    """``train`` as a dict: PaddleX's clients send it as a JSON string, others as an object."""
    if isinstance(train, str):
        try:
            train = json.loads(train)
        except ValueError:
            raise ValidationFailed("train: not a JSON object") from None
    if not isinstance(train, dict):
        raise ValidationFailed("train: must be an object of training parameters")
    return train


def validate(task_type: str, train: dict[str, Any] | str) -> CommonParams:
    """Complete, typed parameters from a client's ``train`` dict (or its JSON string)."""
    train = parse_train(train)
    cls = PARAMS_BY_TYPE.get(task_type)
    if cls is None:
        raise ValidationFailed(f"no trainer for {task_type!r} projects")
    if task_type == "instance_segmentation":
        train = {"model": "MaskYOLO", **train}
    if task_type in ("detection", "instance_segmentation"):  # one parameter class, two model lists
        other = MODELS["instance_segmentation" if task_type == "detection" else "detection"]
        if train.get("model") in other:
            raise ValidationFailed(f"model: {train['model']!r} is not one of {', '.join(MODELS[task_type])}")
    try:
        return cls.model_validate(train)
    except pydantic.ValidationError as exc:
        parts = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "train"
            parts.append(f"{field}: {err['msg'].removeprefix('Value error, ')}")
        raise ValidationFailed("; ".join(parts)) from None

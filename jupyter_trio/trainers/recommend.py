"""Recommended training parameters for a project: from its data, its model's family and the machine.

On GPUs the batch size follows what PaddleX's server measured per model family — the memory a model
takes and what each image adds at PaddleX's input size (224 px classifiers, 608 px YOLOs, 512 px
segmenters) — scaled to our input size, for the smallest of the chosen GPUs, times their number; the
learning rate of a classifier (SGD) grows with the batch as PaddleX's did (MobileNets 0.1 per 500 images,
the others 0.1 per 256). Detectors get PaddleX's warm-up (``_warm_up``), and their learning-rate decay
moves later when the warm-up would reach it.
On the CPU the batch is ours (by input size: 32, 16 or 8). Detectors and segmenters train with Adam
here, so their learning rate stays Adam's 0.001 rather than PaddleX's SGD rule. Epochs follow the amount
of data (10-60, about 1,500 steps).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .params import PARAMS_BY_TYPE, CommonParams, validate


class Footprint(NamedTuple):
    """GPU memory of a model family at PaddleX's input size ``side``: fixed MiB, MiB per image, and the
    most images per GPU PaddleX recommended."""

    fixed: int
    per_image: int
    cap: int
    side: int


FOOTPRINTS = {
    "MobileNet": Footprint(513, 57, 125, 224),
    "classifier": Footprint(739, 211, 16, 224),  # ResNet, DenseNet, Xception, DarkNet, ShuffleNet
    "YOLOv3": Footprint(1555, 943, 8, 608),
    "MaskYOLO": Footprint(1555, 943, 8, 608),
    "PPYOLO": Footprint(1691, 1025, 8, 608),
    # PaddleX's R-CNN inputs are 800 × 1333: the side of a square of that area
    "FasterRCNN": Footprint(1755, 915, 2, 1033),
    "MaskRCNN": Footprint(2702, 1188, 2, 1033),
    "DeepLabv3p": Footprint(1469, 1605, 4, 512),
    "UNet": Footprint(1275, 1256, 4, 512),
    "HRNet_W18": Footprint(800, 682, 4, 512),
    "FastSCNN": Footprint(636, 144, 4, 512),
}
MAX_BATCH_PER_GPU = 128
DETECTORS = ("detection", "instance_segmentation")


def footprint(model: str) -> Footprint:
    if model in FOOTPRINTS:
        return FOOTPRINTS[model]
    return FOOTPRINTS["MobileNet" if model.startswith("MobileNet") else "classifier"]


def gpu_batch(model: str, memory_mib: list[int], side: int) -> int:
    """Images per step on these GPUs: as many as the smallest one's memory holds, on each."""
    f = footprint(model)
    area = (side / f.side) ** 2
    per_gpu = (min(memory_mib) - f.fixed) / (f.per_image * area)
    cap = min(MAX_BATCH_PER_GPU, f.cap / area)
    return max(1, int(min(per_gpu, cap))) * len(memory_mib)


def recommended(
    task_type: str,
    *,
    model: str | None = None,
    num_train: int = 0,
    num_classes: int = 0,
    image_size: tuple[int, int] | None = None,
    gpu_memory_mib: list[int] | None = None,
) -> CommonParams:
    """Parameters for ``model`` (the task type's default when None) on a dataset of ``num_train`` training
    images of ``num_classes`` classes and about ``image_size``, on GPUs of ``gpu_memory_mib`` (None: CPU)."""
    default = (
        "MaskYOLO"
        if task_type == "instance_segmentation"
        else PARAMS_BY_TYPE[task_type].model_fields["model"].default
    )
    model = model or default
    base: dict[str, Any] = {"model": model}
    side = 64
    if image_size:
        side = min(max(32, round(max(image_size) / 32) * 32), 512)
        base["image_shape"] = [side, side]
    if gpu_memory_mib:
        batch = gpu_batch(model, gpu_memory_mib, side)
        base["cuda_visible_devices"] = ",".join(str(i) for i in range(len(gpu_memory_mib)))
    else:
        batch = 32 if side <= 64 else 16 if side <= 128 else 8
    if num_train:
        batch = max(1, min(batch, max(2, num_train // 2)))  # at least two steps an epoch (PaddleX)
    base["batch_size"] = batch
    steps_per_epoch = max(1, num_train // batch) if num_train else 1
    if num_train:
        epochs = max(10, min(60, 1500 // steps_per_epoch))
        base.update(
            num_epochs=epochs,
            lr_decay_epochs=[int(epochs * 0.6), int(epochs * 0.85)],
            save_interval_epochs=max(1, epochs // 10),
        )
    if task_type == "classification":
        base["learning_rate"] = 0.1 * batch / (500 if model.startswith("MobileNet") else 256)
    else:
        base["learning_rate"] = 0.001
    if task_type in DETECTORS:
        middle = max(64, side // 32 * 32)
        base["random_shape_sizes"] = [middle - 32, middle, middle + 32]
        if num_train:
            gpus = len(gpu_memory_mib or []) or 1
            base.update(_warm_up(base, model, steps_per_epoch, num_classes, gpus))
    return validate(task_type, base)


def _warm_up(
    base: dict[str, Any], model: str, steps_per_epoch: int, num_classes: int, gpus: int
) -> dict[str, Any]:
    """A detector's warm-up steps (YOLOs: at least 3 epochs and 50 per class, at most 400 per class per
    GPU; R-CNNs: at least an epoch and 50, at most 4,000 per GPU), with the decay epochs (and the end)
    moved past it when it reaches the first decay."""
    classes = max(1, num_classes)
    if model in ("FasterRCNN", "MaskRCNN"):
        steps = min(max(steps_per_epoch, 50), int(4000 / gpus))
    else:
        steps = min(max(3 * steps_per_epoch, 50 * classes), int(400 * classes / gpus))
    epochs, decay = base["num_epochs"], list(base["lr_decay_epochs"])
    if steps >= decay[0] * steps_per_epoch:
        shift = steps // steps_per_epoch
        decay, epochs = [d + shift for d in decay], epochs + shift
    return {"warmup_steps": steps, "lr_decay_epochs": decay, "num_epochs": epochs}

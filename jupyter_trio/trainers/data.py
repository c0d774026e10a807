"""Training data: an imported dataset's split, decoded, augmented and batched as numpy arrays.

Randomness is a pure function of (seed, epoch, index): the shuffle of an epoch and the augmentation of
each sample do not depend on what ran before, so training resumed from epoch k sees exactly the batches
an uninterrupted run would have seen. Only Pillow and numpy are used here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from .formats.coco import segmentation_mask
from .params import CommonParams

MAX_BOXES = 50
IGNORE = 255


@dataclass
class Sample:
    rel: str
    info: dict[str, Any]


class DatasetView:
    """One split of an imported dataset (``trio_dataset.json``)."""

    def __init__(self, dataset_dir: Path, split: str, limit: int | None = None):
        self.dir = Path(dataset_dir)
        meta = json.loads((self.dir / "trio_dataset.json").read_text())
        if "split" not in meta:
            raise ValueError("the dataset has not been split; split it first")
        self.type: str = meta["type"]
        self.labels: list[str] = meta["labels"]
        rels = meta["split"][split] if split != "all" else sorted(meta["samples"])
        if limit:
            rels = rels[:limit]
        self.samples = [Sample(rel, meta["samples"][rel]) for rel in rels]

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def num_classes(self) -> int:
        return len(self.labels)


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, index])


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    return np.random.default_rng([seed, epoch, 2**31 - 1]).permutation(n) if shuffle else np.arange(n)


# ---- photometric augmentation (PaddleX's switches and probabilities)
def photometric(image: Image.Image, p: CommonParams, rng: np.random.Generator) -> Image.Image:
    for name, enhancer in (("brightness", ImageEnhance.Brightness), ("contrast", ImageEnhance.Contrast),
                           ("saturation", ImageEnhance.Color)):
        if getattr(p, name) and rng.random() < getattr(p, f"{name}_prob"):
            r = getattr(p, f"{name}_range")
            image = enhancer(image).enhance(float(rng.uniform(1 - r, 1 + r)))
    if p.hue and rng.random() < p.hue_prob and p.hue_range:
        shift = int(rng.integers(-p.hue_range, p.hue_range + 1)) * 256 // 360
        h, s, v = image.convert("HSV").split()
        h = h.point(lambda x: (x + shift) % 256)
        image = Image.merge("HSV", (h, s, v)).convert("RGB")
    return image


def to_chw(image: Image.Image, p: CommonParams) -> np.ndarray:
    arr = np.asarray(image, dtype=np.float32) / 255.0
    arr = (arr - np.array(p.image_mean, np.float32)) / np.array(p.image_std, np.float32)
    return arr.transpose(2, 0, 1).copy()


def load_rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


# ---- per task type: one sample → arrays
def classification_item(view: DatasetView, s: Sample, p: Any, rng: np.random.Generator | None) -> tuple:
    h, w = p.image_shape
    image = load_rgb(view.dir / s.rel).resize((w, h), Image.BILINEAR)
    if rng is not None:
        if p.horizontal_flip and rng.random() < p.horizontal_flip_prob:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
        if p.vertical_flip and rng.random() < p.vertical_flip_prob:
            image = image.transpose(Image.FLIP_TOP_BOTTOM)
        if p.rotate and rng.random() < p.rotate_prob:
            image = image.rotate(float(rng.uniform(-p.rotate_range, p.rotate_range)), Image.BILINEAR)
        image = photometric(image, p, rng)
    return to_chw(image, p), np.int64(view.labels.index(s.info["label"]))


def segmentation_item(view: DatasetView, s: Sample, p: Any, rng: np.random.Generator | None) -> tuple:
    h, w = p.image_shape
    image = load_rgb(view.dir / s.rel).resize((w, h), Image.BILINEAR)
    with Image.open(view.dir / s.info["mask"]) as m:
        mask = m.resize((w, h), Image.NEAREST)
    if rng is not None:
        if p.horizontal_flip and rng.random() < p.horizontal_flip_prob:
            image, mask = image.transpose(Image.FLIP_LEFT_RIGHT), mask.transpose(Image.FLIP_LEFT_RIGHT)
        if p.vertical_flip and rng.random() < p.vertical_flip_prob:
            image, mask = image.transpose(Image.FLIP_TOP_BOTTOM), mask.transpose(Image.FLIP_TOP_BOTTOM)
        if p.rotate and p.max_rotation:
            angle = float(rng.uniform(-p.max_rotation, p.max_rotation))
            image = image.rotate(angle, Image.BILINEAR)
            mask = mask.rotate(angle, Image.NEAREST, fillcolor=IGNORE)
        if p.blur and rng.random() < p.blur_prob:
            image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.5, 1.5))))
        image = photometric(image, p, rng)
    return to_chw(image, p), np.asarray(mask, dtype=np.int64)


def _objects(view: DatasetView, s: Sample, scale_x: float, scale_y: float, flip_w: float | None) -> list[tuple]:
    out = []
    for obj in s.info["objects"]:
        x1, y1, x2, y2 = obj["bbox"]
        x1, x2 = x1 * scale_x, x2 * scale_x
        if flip_w is not None:
            x1, x2 = flip_w - x2, flip_w - x1
        out.append((x1, y1 * scale_y, x2, y2 * scale_y, view.labels.index(obj["label"]), obj))
    return out


def detection_item(view: DatasetView, s: Sample, p: Any, rng: np.random.Generator | None,
                   with_masks: bool = False) -> tuple:
    """Image, boxes as normalised (cx, cy, w, h) padded to MAX_BOXES, labels, and (instance masks)."""
    h, w = p.image_shape
    original = load_rgb(view.dir / s.rel)
    ow, oh = original.size
    image = original.resize((w, h), Image.BILINEAR)
    flip = rng is not None and p.horizontal_flip and rng.random() < p.horizontal_flip_prob
    if flip:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
    if rng is not None:
        image = photometric(image, p, rng)
    objs = _objects(view, s, w / ow, h / oh, float(w) if flip else None)[:MAX_BOXES]
    boxes = np.zeros((MAX_BOXES, 4), np.float32)
    labels = np.zeros((MAX_BOXES,), np.int32)
    for i, (x1, y1, x2, y2, c, _) in enumerate(objs):
        boxes[i] = [(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]
        labels[i] = c
    out = [to_chw(image, p), boxes, labels]
    if with_masks:
        masks = np.zeros((MAX_BOXES, h, w), np.uint8)
        for i, (*_, obj) in enumerate(objs):
            m = Image.fromarray(segmentation_mask(obj["segmentation"], ow, oh) * 255).resize((w, h), Image.NEAREST)
            if flip:
                m = m.transpose(Image.FLIP_LEFT_RIGHT)
            masks[i] = np.asarray(m) > 127
        out.append(masks)
    return tuple(out)


def item_fn(task_type: str):
    if task_type == "classification":
        return classification_item
    if task_type == "segmentation":
        return segmentation_item
    if task_type == "detection":
        return detection_item
    return lambda view, s, p, rng: detection_item(view, s, p, rng, with_masks=True)


def batches(view: DatasetView, p: CommonParams, epoch: int, *, train: bool, batch_size: int | None = None,
            start_batch: int = 0, shard: tuple[int, int] = (0, 1)) -> Iterator[tuple[list[int], list[np.ndarray]]]:
    """(indices, stacked arrays) per batch; training batches are shuffled and augmented, last partial dropped
    when it would give a process a single sample (batch norm needs two). ``shard`` = (rank, world): a
    data-parallel rank gets the slice ``batch[rank::world]`` of every global batch."""
    make = item_fn(view.type)
    size = batch_size or p.batch_size
    rank, world = shard
    order = epoch_order(len(view), p.seed, epoch, shuffle=train)
    for b, start in enumerate(range(0, len(order), size)):
        idx = [int(i) for i in order[start:start + size]]
        if b < start_batch or (train and len(idx) < 2 * world and len(order) > 1):
            continue
        idx = idx[rank::world]
        items = [make(view, view.samples[i], p, sample_rng(p.seed, epoch, i) if train else None) for i in idx]
        yield idx, [np.stack(col) for col in zip(*items)]

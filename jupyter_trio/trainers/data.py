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

from . import rasters
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
        self.bands: int = meta.get("bands", 3)  # remote sensing: bands per image, and their statistics
        self.band_stats: dict[str, list[float]] | None = meta.get("band_stats")
        rels = meta["split"][split] if split != "all" else sorted(meta["samples"])
        if limit:
            rels = rels[:limit]
        self.samples = [Sample(rel, meta["samples"][rel]) for rel in rels]

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def num_classes(self) -> int:
        return len(self.labels)


def held_out_view(dataset_dir: Path) -> DatasetView:
    """The split models are judged on: val, or test when val is empty."""
    val = DatasetView(dataset_dir, "val")
    return val if len(val) else DatasetView(dataset_dir, "test")


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, index])


def epoch_order(n: int, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    return np.random.default_rng([seed, epoch, 2**31 - 1]).permutation(n) if shuffle else np.arange(n)


# ---- photometric augmentation (PaddleX's switches and probabilities)
def photometric(image: Image.Image, p: CommonParams, rng: np.random.Generator) -> Image.Image:
    for name, enhancer in (
        ("brightness", ImageEnhance.Brightness),
        ("contrast", ImageEnhance.Contrast),
        ("saturation", ImageEnhance.Color),
    ):
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
        if p.scale_aspect:
            image, mask = scale_aspect(image, mask, p, rng)
        if p.blur and rng.random() < p.blur_prob:
            image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.5, 1.5))))
        image = photometric(image, p, rng)
    return to_chw(image, p), np.asarray(mask, dtype=np.int64)


def remote_item(view: DatasetView, s: Sample, p: Any, rng: np.random.Generator | None) -> tuple:
    """An N-band image and its mask: horizontal and vertical flips as segmentation has them, with
    brightness and contrast on every band (no resampling of colour spaces)."""
    h, w = p.image_shape
    image = rasters.resize(rasters.read(view.dir / s.rel), (w, h))
    with Image.open(view.dir / s.info["mask"]) as m:
        mask = np.asarray(m.resize((w, h), Image.NEAREST), dtype=np.int64)
    if rng is not None:
        if p.horizontal_flip and rng.random() < p.horizontal_flip_prob:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if p.vertical_flip and rng.random() < p.vertical_flip_prob:
            image, mask = image[::-1], mask[::-1]
        low, high = np.asarray(p.image_min, np.float32), np.asarray(p.image_max, np.float32)
        if p.brightness and rng.random() < p.brightness_prob:
            image = image * float(rng.uniform(1 - p.brightness_range, 1 + p.brightness_range))
        if p.contrast and rng.random() < p.contrast_prob:
            centre = image.mean(axis=(0, 1))
            image = centre + (image - centre) * float(rng.uniform(1 - p.contrast_range, 1 + p.contrast_range))
        image = np.clip(image, low, high)
    return rasters.normalise(np.ascontiguousarray(image), p), np.ascontiguousarray(mask)


Box = tuple[float, float, float, float, int]  # x1, y1, x2, y2 in pixels, label index


def expand(
    image: Image.Image,
    boxes: list[Box],
    masks: list[np.ndarray] | None,
    rng: np.random.Generator,
    fill: tuple[int, int, int],
    max_ratio: float = 2.5,
) -> tuple[Image.Image, list[Box], list | None]:
    """PaddleX's RandomExpand: the image on a canvas up to ``max_ratio`` times larger, filled with the mean
    colour, at a random place (objects get smaller: more small-object training)."""
    w, h = image.size
    ratio = float(rng.uniform(1.0, max_ratio))
    cw, ch = int(w * ratio), int(h * ratio)
    x0, y0 = int(rng.integers(0, cw - w + 1)), int(rng.integers(0, ch - h + 1))
    canvas = Image.new("RGB", (cw, ch), fill)
    canvas.paste(image, (x0, y0))
    boxes = [(x1 + x0, y1 + y0, x2 + x0, y2 + y0, c) for x1, y1, x2, y2, c in boxes]
    if masks is not None:
        masks = [np.pad(m, ((y0, ch - h - y0), (x0, cw - w - x0))) for m in masks]
    return canvas, boxes, masks


def random_crop(
    image: Image.Image,
    boxes: list[Box],
    masks: list[np.ndarray] | None,
    rng: np.random.Generator,
    tries: int = 30,
) -> tuple[Image.Image, list[Box], list | None]:
    """PaddleX's RandomCrop: a region of 30–100 % of the side, aspect 1:2–2:1, keeping the objects whose
    centre falls inside (clipped to it); at least one object must stay, else the image is left whole."""
    w, h = image.size
    for _ in range(tries):
        scale, aspect = float(rng.uniform(0.3, 1.0)), float(rng.uniform(0.5, 2.0))
        cw, ch = int(w * scale * aspect**0.5), int(h * scale / aspect**0.5)
        if not (8 <= cw <= w and 8 <= ch <= h):
            continue
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        keep = [
            i
            for i, (x1, y1, x2, y2, _) in enumerate(boxes)
            if x0 <= (x1 + x2) / 2 < x0 + cw and y0 <= (y1 + y2) / 2 < y0 + ch
        ]
        if not keep:
            continue
        cropped = [
            (
                max(0.0, boxes[i][0] - x0),
                max(0.0, boxes[i][1] - y0),
                min(float(cw), boxes[i][2] - x0),
                min(float(ch), boxes[i][3] - y0),
                boxes[i][4],
            )
            for i in keep
        ]
        if masks is not None:
            masks = [masks[i][y0 : y0 + ch, x0 : x0 + cw] for i in keep]
        return image.crop((x0, y0, x0 + cw, y0 + ch)), cropped, masks
    return image, boxes, masks


def detection_item(
    view: DatasetView,
    s: Sample,
    p: Any,
    rng: np.random.Generator | None,
    with_masks: bool = False,
    shape: tuple[int, int] | None = None,
) -> tuple:
    """Image, boxes as normalised (cx, cy, w, h) padded to MAX_BOXES, labels, (instance masks), and box
    scores (1 per real box; mixup weighs the boxes of each mixed image by its share)."""
    h, w = shape or p.image_shape
    image = load_rgb(view.dir / s.rel)
    ow, oh = image.size
    objects = s.info["objects"][:MAX_BOXES]
    boxes: list[Box] = [(*map(float, o["bbox"]), view.labels.index(o["label"])) for o in objects]
    masks = (
        [segmentation_mask(o["segmentation"], ow, oh).astype(bool) for o in objects] if with_masks else None
    )
    if rng is not None:
        if p.expand_image and rng.random() < p.expand_prob:
            fill = tuple(int(255 * m) for m in p.image_mean)
            image, boxes, masks = expand(image, boxes, masks, rng, fill)
        if p.crop_image and rng.random() < 0.5:
            image, boxes, masks = random_crop(image, boxes, masks, rng)
    iw, ih = image.size
    image = image.resize((w, h), Image.BILINEAR)
    boxes = [(x1 * w / iw, y1 * h / ih, x2 * w / iw, y2 * h / ih, c) for x1, y1, x2, y2, c in boxes]
    flip = rng is not None and p.horizontal_flip and rng.random() < p.horizontal_flip_prob
    if flip:
        image = image.transpose(Image.FLIP_LEFT_RIGHT)
        boxes = [(w - x2, y1, w - x1, y2, c) for x1, y1, x2, y2, c in boxes]
    if rng is not None:
        image = photometric(image, p, rng)
    out_boxes = np.zeros((MAX_BOXES, 4), np.float32)
    labels = np.zeros((MAX_BOXES,), np.int32)
    scores = np.zeros((MAX_BOXES,), np.float32)
    for i, (x1, y1, x2, y2, c) in enumerate(boxes):
        out_boxes[i] = [(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]
        labels[i], scores[i] = c, 1.0
    out = [to_chw(image, p), out_boxes, labels]
    if masks is not None:
        stacked = np.zeros((MAX_BOXES, h, w), np.uint8)
        for i, m in enumerate(masks):
            resized = Image.fromarray(m.astype(np.uint8) * 255).resize((w, h), Image.NEAREST)
            if flip:
                resized = resized.transpose(Image.FLIP_LEFT_RIGHT)
            stacked[i] = np.asarray(resized) > 127
        out.append(stacked)
    out.append(scores)
    return tuple(out)


def mixup(a: tuple, b: tuple, share: float) -> tuple:
    """Two detection samples of the same size blended: image ``share``·a + (1-share)·b (normalisation is
    affine, so blending normalised images is blending pixels), both images' boxes, scores weighed."""
    image = share * a[0] + (1 - share) * b[0]
    real_a, real_b = a[1][:, 2] > 0, b[1][:, 2] > 0
    n = min(MAX_BOXES, int(real_a.sum() + real_b.sum()))

    def joined(index: int, fill_a=None, fill_b=None) -> np.ndarray:
        first = a[index][real_a] if fill_a is None else fill_a
        both = np.concatenate([first, b[index][real_b] if fill_b is None else fill_b])[:n]
        out = np.zeros_like(a[index])
        out[:n] = both
        return out

    parts = [image, joined(1), joined(2)]
    if len(a) == 5:  # instance masks
        parts.append(joined(3))
    parts.append(joined(len(a) - 1, a[-1][real_a] * share, b[-1][real_b] * (1 - share)))
    return tuple(parts)


def mixup_epochs(p: Any) -> int:
    """PaddleX mixes images for the first 25/27 of the epochs and trains the rest on plain ones."""
    return int(p.num_epochs * 25 / 27) if getattr(p, "use_mixup", False) else 0


def scale_aspect(
    image: Image.Image, mask: Image.Image, p: Any, rng: np.random.Generator, tries: int = 10
) -> tuple[Image.Image, Image.Image]:
    """PaddleX's RandomScaleAspect: a crop of min_ratio–100 % of the area with aspect ratio between
    aspect_ratio and its inverse, resized back to the input size."""
    w, h = image.size
    for _ in range(tries):
        area = float(rng.uniform(p.min_ratio, 1.0)) * w * h
        aspect = float(rng.uniform(p.aspect_ratio, 1.0)) if p.aspect_ratio else 1.0
        if rng.random() < 0.5:
            aspect = 1 / aspect
        cw, ch = int(round((area * aspect) ** 0.5)), int(round((area / aspect) ** 0.5))
        if cw < w and ch < h:
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            box = (x0, y0, x0 + cw, y0 + ch)
            return (
                image.crop(box).resize((w, h), Image.BILINEAR),
                mask.crop(box).resize((w, h), Image.NEAREST),
            )
    return image, mask


def item_fn(task_type: str):
    """One sample → arrays, as ``f(view, sample, params, rng, shape)`` (shape: random_shape's batch size)."""
    if task_type == "classification":
        return lambda view, s, p, rng, shape: classification_item(view, s, p, rng)
    if task_type == "segmentation":
        return lambda view, s, p, rng, shape: segmentation_item(view, s, p, rng)
    if task_type == "remote_segmentation":
        return lambda view, s, p, rng, shape: remote_item(view, s, p, rng)
    return lambda view, s, p, rng, shape: detection_item(
        view, s, p, rng, task_type == "instance_segmentation", shape
    )


def batch_shape(p: Any, epoch: int, batch: int) -> tuple[int, int] | None:
    """random_shape (detection): each training batch gets one of random_shape_sizes, a function of
    (seed, epoch, batch), so a resumed or data-parallel run sees the same sizes."""
    if not getattr(p, "random_shape", False):
        return None
    sizes = p.random_shape_sizes
    size = sizes[int(np.random.default_rng([p.seed, epoch, 2**31 - 2, batch]).integers(len(sizes)))]
    return size, size


def batches(
    view: DatasetView,
    p: CommonParams,
    epoch: int,
    *,
    train: bool,
    batch_size: int | None = None,
    start_batch: int = 0,
    shard: tuple[int, int] = (0, 1),
) -> Iterator[tuple[list[int], list[np.ndarray]]]:
    """(indices, stacked arrays) per batch; training batches are shuffled and augmented, last partial dropped
    when it would give a process a single sample (batch norm needs two). ``shard`` = (rank, world): a
    data-parallel rank gets the slice ``batch[rank::world]`` of every global batch."""
    make = item_fn(view.type)
    size = batch_size or p.batch_size
    rank, world = shard
    order = epoch_order(len(view), p.seed, epoch, shuffle=train)
    mix = train and epoch < mixup_epochs(p) and len(order) > 1
    for b, start in enumerate(range(0, len(order), size)):
        idx = [int(i) for i in order[start : start + size]]
        if b < start_batch or (train and len(idx) < 2 * world and len(order) > 1):
            continue
        idx = idx[rank::world]
        shape = batch_shape(p, epoch, b) if train else None
        items = [
            make(view, view.samples[i], p, sample_rng(p.seed, epoch, i) if train else None, shape)
            for i in idx
        ]
        if mix:
            for k, i in enumerate(idx):
                r = sample_rng(p.seed, epoch, len(view) + i)  # a stream of its own: partner and share
                share = float(r.beta(p.mixup_alpha, p.mixup_beta))
                j = int(
                    order[
                        (int(np.nonzero(order == i)[0][0]) + 1 + int(r.integers(len(order) - 1))) % len(order)
                    ]
                )
                partner = make(view, view.samples[j], p, sample_rng(p.seed, epoch, j), shape)
                items[k] = mixup(items[k], partner, share)
        yield idx, [np.stack(col) for col in zip(*items)]

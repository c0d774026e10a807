"""Labels drawn on images: boxes and class names (detection), translucent masks (segmentation,
instance segmentation). Used by PaddleX's ``/file?did=`` and by prediction results."""

from __future__ import annotations

import colorsys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .formats.coco import segmentation_mask

ALPHA = 0.45


def palette(n: int) -> list[tuple[int, int, int]]:
    """``n`` well-separated colours (golden-ratio hues), stable for a class index."""
    out = []
    for i in range(max(n, 1)):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.75, 0.95)
        out.append((int(r * 255), int(g * 255), int(b * 255)))
    return out


def blend_mask(
    image: Image.Image,
    class_map: np.ndarray,
    colors: list[tuple[int, int, int]],
    skip: tuple[int, ...] = (0, 255),
) -> Image.Image:
    """Overlay a (H, W) class-index map on ``image``; indices in ``skip`` stay transparent."""
    base = np.asarray(image.convert("RGB"), dtype=np.float32)
    lut = np.array(colors + [(0, 0, 0)] * (256 - len(colors)), dtype=np.float32)[:256]
    color = lut[class_map]
    paint = ~np.isin(class_map, skip)
    base[paint] = base[paint] * (1 - ALPHA) + color[paint] * ALPHA
    return Image.fromarray(base.astype(np.uint8))


def draw_boxes(image: Image.Image, objects: list[dict[str, Any]], labels: list[str]) -> Image.Image:
    colors = palette(len(labels))
    draw = ImageDraw.Draw(image)
    for obj in objects:
        color = colors[labels.index(obj["label"])] if obj["label"] in labels else (255, 255, 255)
        x1, y1, x2, y2 = obj["bbox"]
        draw.rectangle([x1, y1, x2, y2], outline=color, width=2)
        text = obj["label"] + (f" {obj['score']:.2f}" if "score" in obj else "")
        draw.text((x1 + 2, max(0.0, y1 - 11)), text, fill=color)
    return image


def draw_annotation(
    image_path: Path,
    dataset_dir: Path,
    manifest: dict[str, Any],
    rel: str,
    picture: Image.Image | None = None,
) -> Image.Image:
    """The image (or ``picture``, how it is shown: a multi-band image's RGB rendering) with its dataset
    labels drawn (classification images come back as they are)."""
    image = picture if picture is not None else Image.open(image_path).convert("RGB")
    sample, labels = manifest["samples"].get(rel), manifest["labels"]
    if sample is None or manifest["type"] == "classification":
        return image
    if manifest["type"] in ("segmentation", "remote_segmentation"):
        with Image.open(dataset_dir / sample["mask"]) as mask:
            return blend_mask(image, np.asarray(mask), [(0, 0, 0)] + palette(len(labels))[1:])
    if manifest["type"] == "instance_segmentation":
        class_map = np.zeros((image.height, image.width), dtype=np.uint8)
        for obj in sample["objects"]:
            m = segmentation_mask(obj["segmentation"], image.width, image.height).astype(bool)
            class_map[m] = labels.index(obj["label"]) + 1
        image = blend_mask(image, class_map, [(0, 0, 0)] + palette(len(labels)))
    return draw_boxes(image, sample["objects"], labels)

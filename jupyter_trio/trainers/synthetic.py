"""Procedurally generated demo datasets, one per task type, with exact labels.

PaddleX downloaded its demo datasets; jupyter-trio runs without network, so its "download" draws
them: coloured shapes (circle, square, triangle, cross) on textured backgrounds, in the folder format
each type imports from — class folders, Pascal VOC, PNG masks + labels.txt, COCO with polygons — and for
remote sensing a 4-band (red, green, blue, near-infrared) 12-bit scene as TIFF, where vegetation and green
roofs look alike in RGB and only the near-infrared band tells them apart.
Deterministic for a seed: the same call writes the same files.
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "cross")
SIZES = {
    "classification": 64,
    "detection": 128,
    "segmentation": 96,
    "instance_segmentation": 128,
    "remote_segmentation": 64,
}
# detectors trained from scratch overfit a couple of hundred images (train mAP 0.99, val 0.47 at 240
# images): the detection demos are larger
COUNTS = {
    "classification": 600,
    "detection": 800,
    "segmentation": 200,
    "instance_segmentation": 800,
    "remote_segmentation": 200,
}
# remote sensing: each land cover's reflectance in (red, green, blue, near-infrared), 12-bit counts
LAND_COVER = {
    "background": (1900, 1600, 1300, 1800),  # bare soil
    "water": (500, 950, 1750, 150),
    "vegetation": (950, 2250, 950, 3500),
    "building": (950, 2250, 950, 950),  # green roofs: vegetation's colour, not its near-infrared
}


class Stopped(Exception):
    """The generation was asked to stop."""


def background(rng: random.Random, size: int) -> Image.Image:
    """A smooth random colour gradient with noise: enough texture that shapes must be learnt."""
    nrng = np.random.default_rng(rng.getrandbits(32))
    corners = nrng.uniform(40, 200, size=(2, 2, 3))
    t = np.linspace(0, 1, size)[:, None, None]
    s = np.linspace(0, 1, size)[None, :, None]
    top = corners[0, 0] * (1 - s) + corners[0, 1] * s
    bottom = corners[1, 0] * (1 - s) + corners[1, 1] * s
    img = top * (1 - t) + bottom * t + nrng.normal(0, 12, size=(size, size, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def shape_polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    """The outline of a shape centred at (cx, cy) with 'radius' r, rotated by ``angle`` (radians)."""
    if kind == "circle":
        points = [(math.cos(2 * math.pi * i / 32), math.sin(2 * math.pi * i / 32)) for i in range(32)]
    elif kind == "square":
        points = [(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)]
    elif kind == "triangle":
        points = [(math.cos(a), math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
    else:  # cross
        a, b = 0.3, 0.95
        points = [
            (-a, -b),
            (a, -b),
            (a, -a),
            (b, -a),
            (b, a),
            (a, a),
            (a, b),
            (-a, b),
            (-a, a),
            (-b, a),
            (-b, -a),
            (-a, -a),
        ]
    c, s = math.cos(angle), math.sin(angle)
    rotate = kind != "circle"
    return [
        (cx + r * (x * c - y * s if rotate else x), cy + r * (x * s + y * c if rotate else y))
        for x, y in points
    ]


def shape_color(rng: random.Random) -> tuple[int, int, int]:
    bright = rng.random() < 0.5
    return tuple(rng.randint(215, 255) if bright else rng.randint(0, 35) for _ in range(3))  # type: ignore[return-value]


def place(
    rng: random.Random, size: int, count: int, r_range: tuple[float, float]
) -> list[tuple[float, float, float]]:
    """Up to ``count`` non-overlapping circles (cx, cy, r) inside a size × size image."""
    spots: list[tuple[float, float, float]] = []
    for _ in range(count * 30):
        if len(spots) == count:
            break
        r = rng.uniform(*r_range)
        cx, cy = rng.uniform(r + 1, size - r - 1), rng.uniform(r + 1, size - r - 1)
        if all(math.hypot(cx - x, cy - y) > r + q + 2 for x, y, q in spots):
            spots.append((cx, cy, r))
    return spots


def scene(
    rng: random.Random, size: int, classes: tuple[str, ...], max_objects: int, r_range: tuple[float, float]
) -> tuple[Image.Image, list[dict[str, Any]]]:
    """An image with 1..max_objects shapes, and each shape's class, outline and box."""
    image = background(rng, size)
    draw = ImageDraw.Draw(image)
    objects = []
    for cx, cy, r in place(rng, size, rng.randint(1, max_objects), r_range):
        kind = rng.choice(classes)
        poly = shape_polygon(kind, cx, cy, r, rng.uniform(0, 2 * math.pi))
        draw.polygon(poly, fill=shape_color(rng))
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
        box = [max(0.0, min(xs)), max(0.0, min(ys)), min(float(size), max(xs)), min(float(size), max(ys))]
        objects.append({"label": kind, "polygon": poly, "bbox": [round(v, 2) for v in box]})
    return image, objects


def generate(
    dataset_type: str,
    target: Path,
    seed: int = 0,
    count: int | None = None,
    progress: Callable[[float], None] | None = None,
    stop: threading.Event | None = None,
) -> Path:
    """Write the demo dataset of ``dataset_type`` into ``target`` (created); returns ``target``."""
    rng = random.Random(f"{dataset_type}:{seed}")
    size, n = SIZES[dataset_type], count or COUNTS[dataset_type]
    target.mkdir(parents=True, exist_ok=True)
    writer = {
        "classification": _classification,
        "detection": _detection,
        "segmentation": _segmentation,
        "instance_segmentation": _instances,
        "remote_segmentation": _remote,
    }[dataset_type]
    state = writer(target, rng, size)
    for i in range(n):
        if stop is not None and stop.is_set():
            raise Stopped(dataset_type)
        state(i)
        if progress is not None and (i % 10 == 9 or i == n - 1):
            progress((i + 1) / n)
    if dataset_type == "instance_segmentation":
        state(-1)  # writes annotations.json
    return target


def _classification(target: Path, rng: random.Random, size: int) -> Callable[[int], None]:
    for kind in SHAPES:
        (target / kind).mkdir(exist_ok=True)

    def one(i: int) -> None:
        kind = SHAPES[i % len(SHAPES)]
        image = background(rng, size)
        r = rng.uniform(size * 0.2, size * 0.38)
        cx, cy = rng.uniform(r + 1, size - r - 1), rng.uniform(r + 1, size - r - 1)
        ImageDraw.Draw(image).polygon(
            shape_polygon(kind, cx, cy, r, rng.uniform(0, 2 * math.pi)), fill=shape_color(rng)
        )
        image.save(target / kind / f"{kind}_{i:04d}.jpg", quality=92)

    return one


def _detection(target: Path, rng: random.Random, size: int) -> Callable[[int], None]:
    (target / "JPEGImages").mkdir(exist_ok=True)
    (target / "Annotations").mkdir(exist_ok=True)
    (target / "labels.txt").write_text("\n".join(SHAPES[:3]) + "\n")

    def one(i: int) -> None:
        image, objects = scene(rng, size, SHAPES[:3], 3, (size * 0.1, size * 0.22))
        name = f"img_{i:04d}"
        image.save(target / "JPEGImages" / f"{name}.jpg", quality=92)
        objs = "".join(
            f"<object><name>{o['label']}</name><difficult>0</difficult><bndbox><xmin>{o['bbox'][0]}</xmin>"
            f"<ymin>{o['bbox'][1]}</ymin><xmax>{o['bbox'][2]}</xmax><ymax>{o['bbox'][3]}</ymax></bndbox></object>"
            for o in objects
        )
        (target / "Annotations" / f"{name}.xml").write_text(
            f"<annotation><filename>{name}.jpg</filename><size><width>{size}</width><height>{size}</height>"
            f"<depth>3</depth></size>{objs}</annotation>\n"
        )

    return one


def _segmentation(target: Path, rng: random.Random, size: int) -> Callable[[int], None]:
    (target / "JPEGImages").mkdir(exist_ok=True)
    (target / "Annotations").mkdir(exist_ok=True)
    classes = SHAPES[:3]
    (target / "labels.txt").write_text("background\n" + "\n".join(classes) + "\n")

    def one(i: int) -> None:
        image, objects = scene(rng, size, classes, 3, (size * 0.12, size * 0.25))
        mask = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(mask)
        for o in objects:
            draw.polygon(o["polygon"], fill=classes.index(o["label"]) + 1)
        name = f"img_{i:04d}"
        image.save(target / "JPEGImages" / f"{name}.jpg", quality=92)
        mask.save(target / "Annotations" / f"{name}.png")

    return one


def _instances(target: Path, rng: random.Random, size: int) -> Callable[[int], None]:
    (target / "JPEGImages").mkdir(exist_ok=True)
    classes = SHAPES[:3]
    coco: dict[str, Any] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": i + 1, "name": c} for i, c in enumerate(classes)],
    }

    def one(i: int) -> None:
        if i < 0:
            (target / "annotations.json").write_text(json.dumps(coco))
            return
        image, objects = scene(rng, size, classes, 3, (size * 0.1, size * 0.22))
        name = f"img_{i:04d}.jpg"
        image.save(target / "JPEGImages" / name, quality=92)
        coco["images"].append({"id": i + 1, "file_name": name, "width": size, "height": size})
        for o in objects:
            x1, y1, x2, y2 = o["bbox"]
            poly = [round(v, 2) for p in o["polygon"] for v in p]
            coco["annotations"].append(
                {
                    "id": len(coco["annotations"]) + 1,
                    "image_id": i + 1,
                    "category_id": classes.index(o["label"]) + 1,
                    "bbox": [x1, y1, round(x2 - x1, 2), round(y2 - y1, 2)],
                    "area": round((x2 - x1) * (y2 - y1), 2),
                    "iscrowd": 0,
                    "segmentation": [poly],
                }
            )

    return one


def _remote(target: Path, rng: random.Random, size: int) -> Callable[[int], None]:
    import tifffile

    (target / "JPEGImages").mkdir(exist_ok=True)
    (target / "Annotations").mkdir(exist_ok=True)
    covers = list(LAND_COVER)
    (target / "labels.txt").write_text("\n".join(covers) + "\n")

    def one(i: int) -> None:
        nrng = np.random.default_rng(rng.getrandbits(32))
        mask = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(mask)
        for cx, cy, r in place(rng, size, rng.randint(1, 4), (size * 0.12, size * 0.25)):
            kind = rng.choice(SHAPES)
            draw.polygon(shape_polygon(kind, cx, cy, r, rng.uniform(0, 2 * math.pi)), fill=rng.randint(1, 3))
        labels = np.asarray(mask)
        signature = np.asarray([LAND_COVER[c] for c in covers], np.float32)
        shade = nrng.uniform(0.85, 1.15) * np.linspace(0.9, 1.1, size)[None, :, None]  # illumination
        scene = signature[labels] * shade + nrng.normal(0, 90, size=(size, size, 4))
        name = f"img_{i:04d}"
        tifffile.imwrite(target / "JPEGImages" / f"{name}.tif", np.clip(scene, 0, 4095).astype(np.uint16))
        mask.save(target / "Annotations" / f"{name}.png")

    return one

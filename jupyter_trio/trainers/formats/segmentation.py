"""Semantic segmentation datasets: images + single-channel PNG label masks (value = class index, 255 =
ignore).

Pairs come from PaddleX list files (``image mask`` per line) or from JPEGImages/ + Annotations/ by file
stem. Class names come from labels.txt (first line = class 0); without it classes are named by index.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from .common import (
    FormatError,
    Manifest,
    Problems,
    image_size,
    is_image,
    list_files,
    list_pairs,
    read_labels,
    relative,
)

IGNORE_INDEX = 255


def pairs(
    folder: Path, problems: Problems, accept: Callable[[Path], bool] = is_image, what: str = "segmentation"
) -> list[tuple[str, Path, Path]]:
    """(where, image, mask) from list files, or from JPEGImages/ and Annotations/ by file stem; ``accept``
    says which files of JPEGImages/ are images."""
    if list_files(folder):
        return list_pairs(folder, problems)
    img_dir, ann_dir = folder / "JPEGImages", folder / "Annotations"
    if not img_dir.is_dir() or not ann_dir.is_dir():
        raise FormatError(f"a {what} dataset needs JPEGImages/ and Annotations/ (PNG masks), or list files")
    found = []
    for image in sorted(img_dir.iterdir()):
        if not accept(image):
            continue
        mask = ann_dir / f"{image.stem}.png"
        if not mask.is_file():
            problems.add(relative(folder, image), f"missing label mask Annotations/{image.stem}.png")
            continue
        found.append((relative(folder, image), image, mask))
    return found


def mask_classes(mask: Path, size: tuple[int, int], where: str, problems: Problems) -> set[int] | None:
    try:
        with Image.open(mask) as im:
            im.load()
            if im.mode not in ("L", "P"):
                problems.add(where, f"label mask must be single-channel (L or P), not {im.mode}")
                return None
            if im.size != size:
                problems.add(where, f"label mask is {im.size[0]}x{im.size[1]}, image is {size[0]}x{size[1]}")
                return None
            colors = im.getcolors(256) or []
    except (OSError, SyntaxError, ValueError):
        problems.add(where, "label mask does not decode")
        return None
    return {int(value) for _, value in colors}


def scan(folder: Path, problems: Problems) -> Manifest:
    labels = read_labels(folder / "labels.txt") if (folder / "labels.txt").is_file() else None
    found: dict[str, tuple[str, set[int]]] = {}
    for _where, image, mask in pairs(folder, problems):
        image_rel, mask_rel = relative(folder, image), relative(folder, mask)
        size = image_size(image)
        if size is None:
            problems.add(image_rel, "image does not decode")
            continue
        values = mask_classes(mask, size, mask_rel, problems)
        if values is not None and known_classes(values, labels, mask_rel, problems):
            found[image_rel] = (mask_rel, values)
    return manifest("segmentation", folder, labels, found)


def known_classes(values: set[int], labels: list[str] | None, where: str, problems: Problems) -> bool:
    """The mask's class values (255 = ignore dropped) are all named by labels.txt (when there is one)."""
    values.discard(IGNORE_INDEX)
    if labels is not None and values and max(values) >= len(labels):
        problems.add(where, f"unknown class {max(values)} (labels.txt has {len(labels)} classes)")
        return False
    return True


def manifest(
    dataset_type: str,
    folder: Path,
    labels: list[str] | None,
    found: dict[str, tuple[str, set[int]]],
    extra: dict[str, Any] | None = None,
) -> Manifest:
    """The manifest of image → (mask, class values) pairs; classes named by index without labels.txt."""
    if labels is None:
        top = max((max(v) for _, v in found.values() if v), default=0)
        labels = ["background"] + [f"class_{i}" for i in range(1, top + 1)]
    samples: dict[str, dict[str, Any]] = {}
    files: set[str] = set()
    for image_rel, (mask_rel, values) in found.items():
        samples[image_rel] = {
            "annotation": mask_rel,
            "mask": mask_rel,
            "classes": [labels[v] for v in sorted(values)],
        }
        files |= {image_rel, mask_rel}
    if (folder / "labels.txt").is_file():
        files.add("labels.txt")
    return Manifest(dataset_type, "masks", labels, samples, files, extra or {})

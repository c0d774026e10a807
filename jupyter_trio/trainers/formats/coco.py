"""COCO JSON (detection boxes; instance segmentation polygons or RLE), and RLE/polygon rasterising."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .common import FormatError, Manifest, Problems, box_inside, image_size, inside, relative

IMAGE_DIRS = ("JPEGImages", "images", "")


def find_annotation_file(folder: Path) -> Path | None:
    for candidate in (folder / "annotations.json", folder / "annotations" / "instances.json"):
        if candidate.is_file():
            return candidate
    found = sorted(folder.glob("*.json")) + sorted((folder / "annotations").glob("*.json"))
    return found[0] if len(found) == 1 else None


def _image_path(folder: Path, file_name: str) -> Path | None | str:
    """The image a COCO ``file_name`` names, looked up under JPEGImages/, images/, then the root."""
    for sub in IMAGE_DIRS:
        path = inside(folder, f"{sub}/{file_name}" if sub else file_name)
        if path is None:
            return "escape"
        if path.is_file():
            return path
    return None


def _valid_segmentation(seg: Any, width: int, height: int) -> str | None:
    """Why a COCO segmentation is unusable, or ``None``."""
    if isinstance(seg, list):
        if not seg:
            return "empty polygon list"
        for poly in seg:
            if (
                not isinstance(poly, list)
                or len(poly) < 6
                or len(poly) % 2
                or not all(isinstance(v, (int, float)) for v in poly)
            ):
                return "a polygon must be a flat list of at least 3 x, y pairs"
        return None
    if isinstance(seg, dict):
        size, counts = seg.get("size"), seg.get("counts")
        if size != [height, width]:
            return f"RLE size {size} does not match the {width}x{height} image"
        if isinstance(counts, list) and all(isinstance(c, int) and c >= 0 for c in counts):
            return None if sum(counts) == width * height else "RLE counts do not cover the image"
        if isinstance(counts, str):
            try:
                total = sum(decode_rle_string(counts))
            except ValueError as exc:
                return f"RLE counts: {exc}"
            return None if total == width * height else "RLE counts do not cover the image"
        return "RLE counts must be a list of integers or a compressed string"
    return "segmentation must be polygons or RLE"


def scan(folder: Path, problems: Problems, dataset_type: str) -> Manifest:
    ann_file = find_annotation_file(folder)
    if ann_file is None:
        raise FormatError("no COCO annotation file: expected annotations.json (with JPEGImages/)")
    try:
        coco = json.loads(ann_file.read_text(encoding="utf-8"))
        images, annotations, categories = coco["images"], coco["annotations"], coco["categories"]
        cat_names = {c["id"]: str(c["name"]) for c in categories}
    except (ValueError, KeyError, TypeError) as exc:
        raise FormatError(
            f"{ann_file.name} is not COCO JSON (images, annotations, categories): {exc}"
        ) from None
    ann_rel = relative(folder, ann_file)
    labels = [cat_names[k] for k in sorted(cat_names)]
    by_id: dict[Any, tuple[str, int, int]] = {}
    samples: dict[str, dict[str, Any]] = {}
    for entry in images:
        name = str(entry.get("file_name", "")) if isinstance(entry, dict) else ""
        where = f"{ann_rel} image {entry.get('id') if isinstance(entry, dict) else entry!r}"
        path = _image_path(folder, name) if name else None
        if path == "escape":
            problems.add(where, f"{name!r} leaves the dataset folder")
            continue
        if path is None:
            problems.add(where, f"image {name!r} does not exist")
            continue
        rel = relative(folder, path)
        size = image_size(path)
        if size is None:
            problems.add(rel, "image does not decode")
            continue
        by_id[entry["id"]] = (rel, *size)
        samples[rel] = {
            "annotation": ann_rel,
            "width": size[0],
            "height": size[1],
            "objects": [],
            "classes": [],
        }
    for ann in annotations:
        where = f"{ann_rel} annotation {ann.get('id')}"
        image = by_id.get(ann.get("image_id"))
        if image is None:
            if not any(w.startswith(f"{ann_rel} image {ann.get('image_id')}") for w, _ in problems.items):
                problems.add(where, f"refers to image id {ann.get('image_id')!r}, which is not in images")
            continue
        rel, width, height = image
        label = cat_names.get(ann.get("category_id"))
        if label is None:
            problems.add(where, f"unknown class: category_id {ann.get('category_id')!r} is not in categories")
            continue
        try:
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError):
            problems.add(where, "bbox must be [x, y, width, height]")
            continue
        box = [x, y, x + w, y + h]
        if not box_inside(box, width, height):
            problems.add(where, f"box {box} of {label!r} lies outside the {width}x{height} image {rel}")
            continue
        obj: dict[str, Any] = {"label": label, "bbox": box, "iscrowd": int(ann.get("iscrowd", 0))}
        if dataset_type == "instance_segmentation":
            seg = ann.get("segmentation")
            why = _valid_segmentation(seg, width, height) if seg is not None else "no segmentation"
            if why:
                problems.add(where, why)
                continue
            obj["segmentation"] = seg
        samples[rel]["objects"].append(obj)
        if label not in samples[rel]["classes"]:
            samples[rel]["classes"].append(label)
    files = set(samples) | {ann_rel}
    return Manifest(dataset_type, "coco", labels, samples, files)


# ---- masks from COCO segmentations
def decode_rle_string(counts: str) -> list[int]:
    """COCO's compressed RLE string (6-bit groups with continuation, deltas from the run two back)."""
    out: list[int] = []
    pos = 0
    while pos < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(counts):
                raise ValueError("truncated")
            c = ord(counts[pos]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"bad character {counts[pos]!r}")
            value |= (c & 0x1F) << (5 * shift)
            more = bool(c & 0x20)
            pos += 1
            shift += 1
            if not more and c & 0x10:
                value |= -1 << (5 * shift)
        if len(out) > 2:
            value += out[-2]
        if value < 0:
            raise ValueError("negative run length")
        out.append(value)
    return out


def segmentation_mask(seg: Any, width: int, height: int) -> np.ndarray:
    """A COCO segmentation (polygons or RLE) as a (height, width) uint8 0/1 mask."""
    if isinstance(seg, list):
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        for poly in seg:
            draw.polygon([(poly[i], poly[i + 1]) for i in range(0, len(poly), 2)], fill=1, outline=1)
        return np.asarray(canvas, dtype=np.uint8)
    counts = seg["counts"]
    runs = decode_rle_string(counts) if isinstance(counts, str) else list(counts)
    flat = np.zeros(width * height, dtype=np.uint8)
    pos, value = 0, 0
    for run in runs:
        if value:
            flat[pos : pos + run] = 1
        pos += run
        value ^= 1
    return flat.reshape((width, height)).T.copy()  # COCO runs go down columns


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """A 0/1 mask as uncompressed COCO RLE (``counts`` list, column-major, starting with zeros)."""
    flat = np.asarray(mask, dtype=np.uint8).T.reshape(-1)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0] == 1:
        counts = [0, *counts]
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}

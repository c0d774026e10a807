"""Prediction on images from a trained task (a checkpoint), and the result drawn on the image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..vocabulary import SEGMENTATION_TYPES
from . import rasters
from .coco_rle import mask_to_rle
from .data import load_rgb, to_chw
from .engine import Engine
from .formats.common import IMAGE_SUFFIXES
from .visualize import blend_mask, draw_boxes, palette

# an image to predict: a picture, or the (height, width, bands) array of a multi-band image
Picture = Image.Image | np.ndarray


def image_files(path: Path) -> list[Path]:
    """One image, or every image (pictures and rasters) of a folder (sorted)."""
    if path.is_dir():
        suffixes = IMAGE_SUFFIXES | rasters.RASTER_SUFFIXES
        return sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes and p.is_file())
    return [path]


def size_of(image: Picture) -> tuple[int, int]:
    """(width, height)."""
    return (image.shape[1], image.shape[0]) if isinstance(image, np.ndarray) else image.size


def preprocess(engine: Engine, image: Picture) -> np.ndarray:
    h, w = engine.params.image_shape
    if isinstance(image, np.ndarray):
        if image.shape[2] != engine.channels:
            raise ValueError(f"the image has {image.shape[2]} bands, the model takes {engine.channels}")
        return rasters.normalise(rasters.resize(image, (w, h)), engine.params)
    return to_chw(image.resize((w, h), Image.BILINEAR), engine.params)


def load(engine: Engine, path: Path) -> Picture:
    """An image file as the engine's model takes it: N bands for remote sensing, else RGB."""
    return rasters.read(path) if engine.task_type == "remote_segmentation" else load_rgb(path)


def predict_images(
    engine: Engine, images: list[Picture], score_thresh: float = 0.5, topk: int = 5
) -> list[dict[str, Any]]:
    """Results in the original image coordinates: classes + scores, boxes, label maps, masks (RLE)."""
    h, w = engine.params.image_shape
    raw = engine.infer([np.stack([preprocess(engine, im) for im in images])], score_thresh=score_thresh)
    out = []
    for image, r in zip(images, raw):
        iw, ih = size_of(image)
        if engine.task_type == "classification":
            order = np.argsort(-r["probs"])[:topk]
            out.append(
                {
                    "category_id": int(order[0]),
                    "category": engine.labels[order[0]],
                    "score": float(r["probs"][order[0]]),
                    "topk": [
                        {"category_id": int(i), "category": engine.labels[i], "score": float(r["probs"][i])}
                        for i in order
                    ],
                }
            )
        elif engine.task_type in SEGMENTATION_TYPES:
            label_map = np.asarray(
                Image.fromarray(r["label_map"].astype(np.uint8)).resize((iw, ih), Image.NEAREST)
            )
            out.append(
                {
                    "label_map": label_map,
                    "labels": engine.labels,
                    "pixel_counts": {
                        engine.labels[c]: int((label_map == c).sum()) for c in np.unique(label_map)
                    },
                }
            )
        else:
            sx, sy = iw / w, ih / h
            objects = []
            for k, (box, score, label) in enumerate(zip(r["boxes"], r["scores"], r["labels"])):
                if score < score_thresh:
                    continue
                x1, y1, x2, y2 = (float(v) for v in box)
                obj = {
                    "category_id": int(label),
                    "category": engine.labels[label],
                    "score": float(score),
                    "bbox": [x1 * sx, y1 * sy, x2 * sx, y2 * sy],
                }
                if "masks" in r:
                    m = Image.fromarray(r["masks"][k].astype(np.uint8) * 255).resize((iw, ih), Image.NEAREST)
                    obj["mask"] = np.asarray(m) > 127
                objects.append(obj)
            out.append({"objects": objects})
    return out


def visualize(engine: Engine, image: Picture, result: dict[str, Any]) -> Image.Image:
    """The result drawn on the image (a multi-band image shown by its first three bands)."""
    labels = engine.labels
    image = rasters.rgb(image) if isinstance(image, np.ndarray) else image.convert("RGB")
    if engine.task_type == "classification":
        return draw_boxes(image.copy(), [], labels)
    if engine.task_type in SEGMENTATION_TYPES:
        return blend_mask(image, result["label_map"].astype(np.uint8), [(0, 0, 0)] + palette(len(labels))[1:])
    if engine.task_type == "instance_segmentation" and result["objects"]:
        class_map = np.zeros((image.height, image.width), np.uint8)
        for obj in result["objects"]:
            class_map[obj["mask"]] = obj["category_id"] + 1
        image = blend_mask(image, class_map, [(0, 0, 0)] + palette(len(labels)))
    return draw_boxes(
        image,
        [{"label": o["category"], "bbox": o["bbox"], "score": o["score"]} for o in result["objects"]],
        labels,
    )


def jsonable(result: dict[str, Any]) -> dict[str, Any]:
    """A prediction as JSON: label maps and masks as COCO RLE."""
    out = dict(result)
    if "label_map" in out:
        out["label_map"] = mask_to_rle(out["label_map"])
    if "objects" in out:
        out["objects"] = [
            {**o, "mask": mask_to_rle(o["mask"].astype(np.uint8))} if "mask" in o else o
            for o in out["objects"]
        ]
    return out


def predict_paths(
    engine: Engine, paths: list[Path], out_dir: Path | None = None, score_thresh: float = 0.5, batch: int = 16
) -> list[dict[str, Any]]:
    """Predict files; with ``out_dir``, write ``<name>_result.png`` visualisations next to ``result.json``."""
    results = []
    for start in range(0, len(paths), batch):
        chunk = paths[start : start + batch]
        images = [load(engine, p) for p in chunk]
        for path, image, r in zip(chunk, images, predict_images(engine, images, score_thresh)):
            entry = {"image": str(path), **jsonable(r)}
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                target = out_dir / f"{path.stem}_result.png"
                visualize(engine, image, r).save(target)
                entry["visualization"] = str(target)
            results.append(entry)
    return results

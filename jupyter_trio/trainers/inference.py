"""Prediction on images from a trained task (a checkpoint), and the result drawn on the image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .coco_rle import mask_to_rle
from .data import load_rgb, to_chw
from .engine import Engine
from .formats.common import IMAGE_SUFFIXES
from .visualize import blend_mask, draw_boxes, palette


def image_files(path: Path) -> list[Path]:
    """One image, or every image of a folder (sorted)."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    return [path]


def preprocess(engine: Engine, image: Image.Image) -> np.ndarray:
    h, w = engine.params.image_shape
    return to_chw(image.resize((w, h), Image.BILINEAR), engine.params)


def predict_images(
    engine: Engine, images: list[Image.Image], score_thresh: float = 0.5, topk: int = 5
) -> list[dict[str, Any]]:
    """Results in the original image coordinates: classes + scores, boxes, label maps, masks (RLE)."""
    h, w = engine.params.image_shape
    raw = engine.infer([np.stack([preprocess(engine, im) for im in images])], score_thresh=score_thresh)
    out = []
    for image, r in zip(images, raw):
        iw, ih = image.size
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
        elif engine.task_type == "segmentation":
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


def visualize(engine: Engine, image: Image.Image, result: dict[str, Any]) -> Image.Image:
    labels = engine.labels
    image = image.convert("RGB")
    if engine.task_type == "classification":
        return draw_boxes(image.copy(), [], labels)
    if engine.task_type == "segmentation":
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
        images = [load_rgb(p) for p in chunk]
        for path, image, r in zip(chunk, images, predict_images(engine, images, score_thresh)):
            entry = {"image": str(path), **jsonable(r)}
            if out_dir is not None:
                out_dir.mkdir(parents=True, exist_ok=True)
                target = out_dir / f"{path.stem}_result.png"
                visualize(engine, image, r).save(target)
                entry["visualization"] = str(target)
            results.append(entry)
    return results

"""Pascal VOC detection datasets: JPEGImages/ + Annotations/*.xml (optional labels.txt and list files)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .common import (
    FormatError,
    Manifest,
    Problems,
    box_inside,
    image_size,
    is_image,
    list_files,
    list_pairs,
    read_labels,
    relative,
)


def _pairs(folder: Path, problems: Problems) -> list[tuple[str, Path, Path]]:
    """(where, image, xml) pairs: from list files when there are any, else Annotations/ by file stem."""
    if list_files(folder):
        return list_pairs(folder, problems)
    ann_dir, img_dir = folder / "Annotations", folder / "JPEGImages"
    if not ann_dir.is_dir() or not img_dir.is_dir():
        raise FormatError(
            "a VOC dataset needs JPEGImages/ and Annotations/ (or list files), or a COCO annotations.json"
        )
    images = {p.stem: p for p in sorted(img_dir.iterdir()) if is_image(p)}
    pairs = []
    for xml in sorted(ann_dir.glob("*.xml")):
        rel = relative(folder, xml)
        image = images.get(xml.stem)
        if image is None:
            problems.add(rel, f"no image JPEGImages/{xml.stem}.* for this annotation")
            continue
        pairs.append((rel, image, xml))
    return pairs


def _objects(
    xml: Path, where: str, labels: list[str] | None, width: int, height: int, problems: Problems
) -> list[dict[str, Any]] | None:
    try:
        root = ET.parse(xml).getroot()
    except ET.ParseError as exc:
        problems.add(where, f"XML does not parse: {exc}")
        return None
    objects, ok = [], True
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        box_el = obj.find("bndbox")
        try:
            box = [float(box_el.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]  # type: ignore[union-attr, arg-type]
        except (AttributeError, TypeError, ValueError):
            problems.add(where, f"object {name!r} has no valid bndbox")
            ok = False
            continue
        if labels is not None and name not in labels:
            problems.add(where, f"unknown class {name!r} (not in labels.txt)")
            ok = False
        elif not box_inside(box, width, height):
            problems.add(where, f"box {box} of {name!r} lies outside the {width}x{height} image")
            ok = False
        else:
            objects.append({"label": name, "bbox": box, "iscrowd": int(obj.findtext("difficult") or 0)})
    return objects if ok else None


def scan(folder: Path, problems: Problems) -> Manifest:
    labels = read_labels(folder / "labels.txt") if (folder / "labels.txt").is_file() else None
    samples: dict[str, dict[str, Any]] = {}
    files: set[str] = set()
    for _where, image, xml in _pairs(folder, problems):
        image_rel, xml_rel = relative(folder, image), relative(folder, xml)
        size = image_size(image)
        if size is None:
            problems.add(image_rel, "image does not decode")
            continue
        objects = _objects(xml, xml_rel, labels, *size, problems)
        if objects is None:
            continue
        classes = list(dict.fromkeys(o["label"] for o in objects))
        samples[image_rel] = {
            "annotation": xml_rel,
            "width": size[0],
            "height": size[1],
            "objects": objects,
            "classes": classes,
        }
        files |= {image_rel, xml_rel}
    if labels is None:
        labels = sorted({o["label"] for s in samples.values() for o in s["objects"]})
    else:
        files.add("labels.txt")
    return Manifest("detection", "voc", labels, samples, files)

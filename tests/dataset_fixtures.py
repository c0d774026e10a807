"""Small datasets of every format, generated on the fly, and ways to break them."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from PIL import Image

from jupyter_trio.trainers import synthetic

# A classification training budget small enough for CI: two epochs at 32 px, a checkpoint each.
TINY_TRAIN = {
    "model": "MobileNetV3_small",
    "image_shape": [32, 32],
    "batch_size": 16,
    "num_epochs": 2,
    "save_interval_epochs": 1,
    "learning_rate": 0.003,
}
CORRUPT = b"\xff\xd8\xff\xe0 this is not really a JPEG"


def make(kind: str, target: Path, count: int = 12) -> Path:
    """A valid dataset of ``kind`` in its default folder format (see synthetic)."""
    return synthetic.generate(kind, target, seed=1, count=count)


def make_classification_lists(target: Path, count: int = 12) -> Path:
    """Classification in PaddleX's list format: labels.txt + train_list.txt / val_list.txt."""
    src = make("classification", target / "_src", count)
    labels = sorted(p.name for p in src.iterdir() if p.is_dir())
    (target / "images").mkdir(parents=True)
    lines = []
    for index, label in enumerate(labels):
        for image in sorted((src / label).iterdir()):
            shutil.copyfile(image, target / "images" / image.name)
            lines.append(f"images/{image.name} {index}")
    shutil.rmtree(src)
    (target / "labels.txt").write_text("\n".join(labels) + "\n")
    (target / "train_list.txt").write_text("\n".join(lines[2:]) + "\n")
    (target / "val_list.txt").write_text("\n".join(lines[:2]) + "\n")
    return target


def make_coco_detection(target: Path, count: int = 12) -> Path:
    """Detection as COCO: the instance demo without its polygons."""
    make("instance_segmentation", target, count)
    coco = json.loads((target / "annotations.json").read_text())
    for ann in coco["annotations"]:
        del ann["segmentation"]
    (target / "annotations.json").write_text(json.dumps(coco))
    return target


def first_image(folder: Path) -> Path:
    return sorted(p for p in folder.rglob("*.jpg"))[0]


def corrupt_first_image(folder: Path) -> str:
    image = first_image(folder)
    image.write_bytes(CORRUPT)
    return image.relative_to(folder).as_posix()


def edit_coco(folder: Path, edit) -> None:
    path = folder / "annotations.json"
    coco = json.loads(path.read_text())
    edit(coco)
    path.write_text(json.dumps(coco))


def write_mask(path: Path, size: int, value: int) -> None:
    Image.new("L", (size, size), value).save(path)


def imported(kind: str, root: Path, count: int = 16, val: float = 0.25, seed: int = 0) -> Path:
    """A dataset folder as the importer leaves it (copied, manifest written) and split: for trainer tests
    that need no server."""
    from jupyter_trio.services.dataset_import import MANIFEST, copy_into
    from jupyter_trio.trainers.formats import scan

    src = make(kind, root / f"{kind}-src", count)
    target = root / f"{kind}-dataset"
    target.mkdir(parents=True)
    manifest, problems = scan(kind, src)
    assert not problems, problems.message()
    copy_into(manifest, src, target)
    meta = json.loads((target / MANIFEST).read_text())
    rels = sorted(meta["samples"])
    import random

    random.Random(seed).shuffle(rels)
    n_val = max(2, int(len(rels) * val))
    meta["split"] = {"train": sorted(rels[n_val:]), "val": sorted(rels[:n_val]), "test": []}
    (target / MANIFEST).write_text(json.dumps(meta))
    return target


async def load_demo(api, kind: str = "classification", timeout: float = 120.0) -> tuple[str, str]:
    """Generate and load a demo dataset through the native API; returns (dataset id, project id)."""
    await api("POST", f"trio/api/demos/{kind}/download")
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        _, demo = await api("GET", f"trio/api/demos/{kind}")
        if demo["status"] == "ready":
            break
        assert asyncio.get_running_loop().time() < deadline, demo
        await asyncio.sleep(0.05)
    _, loaded = await api("POST", f"trio/api/demos/{kind}/load")
    return loaded["dataset_id"], loaded["project_id"]

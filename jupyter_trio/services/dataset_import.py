"""Importing a classification dataset (ImageNet-style class folders) into the workspace, and splitting it.

The import runs in a background thread and moves the dataset through PaddleX's states:
XCHECKING (every image must decode) → XCOPYING (into a staging folder) → XCOPYDONE, or XCHECKFAIL /
XCOPYFAIL with a message naming the bad files. A failed import leaves nothing behind: files are copied
into ``<dataset>/.staging`` and moved into place only once all are there.
Other formats (PaddleX list files, VOC, COCO, segmentation masks) are not imported yet.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from ..errors import Conflict, ValidationFailed
from ..store import Store, resolve_inside

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
MAX_NAMED_BAD = 20


def source_folder(root_dir: Path, path: str) -> Path:
    """A server path to import from: absolute or relative, but inside the server's root folder."""
    if not path:
        raise ValidationFailed("path is required")
    root = Path(os.path.realpath(root_dir))
    candidate = Path(path)
    relative = os.path.relpath(os.path.realpath(candidate), root) if candidate.is_absolute() else path
    folder = resolve_inside(root, relative)
    if not folder.is_dir():
        raise ValidationFailed(f"path: {path!r} is not a folder under the server root")
    return folder


def scan_classification(folder: Path) -> tuple[dict[str, str], list[str], list[str]]:
    """(image → label, labels, bad files) of an ImageNet-style tree: one sub-folder per class."""
    files, bad = {}, []
    labels = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not labels:
        raise ValidationFailed("a classification dataset needs one sub-folder per class; none found")
    for label in labels:
        for image in sorted((folder / label).rglob("*")):
            if image.is_symlink() or not image.is_file() or image.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            rel = image.relative_to(folder).as_posix()
            try:
                with Image.open(image) as im:
                    im.verify()
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                bad.append(rel)
                continue
            files[rel] = label
    return files, labels, bad


class DatasetImporter:
    def __init__(self, store: Store, root_dir: Path):
        self.store = store
        self.root_dir = root_dir
        self._threads: dict[str, threading.Thread] = {}

    def start(self, dataset: dict[str, Any], path: str) -> None:
        if dataset["status"] in ("XCHECKING", "XCOPYING"):
            raise Conflict(f"dataset {dataset['id']} is already importing")
        if dataset["dataset_type"] != "classification":
            raise ValidationFailed(f"importing {dataset['dataset_type']} datasets is not supported yet")
        folder = source_folder(self.root_dir, path)
        self.store.datasets.update(dataset["id"], status="XCHECKING", message="checking images",
                                   source_path=str(folder))
        thread = threading.Thread(target=self._run, args=(dataset, folder), daemon=True,
                                  name=f"trio-import-{dataset['id']}")
        self._threads[dataset["id"]] = thread
        thread.start()

    def wait(self, did: str, timeout: float | None = None) -> None:
        thread = self._threads.get(did)
        if thread is not None:
            thread.join(timeout)

    def _run(self, dataset: dict[str, Any], folder: Path) -> None:
        did, target = dataset["id"], self.store.root / dataset["path"]
        try:
            files, labels, bad = scan_classification(folder)
        except ValidationFailed as exc:
            self.store.datasets.update(did, status="XCHECKFAIL", message=exc.message)
            return
        if bad or not files:
            named = ", ".join(bad[:MAX_NAMED_BAD]) + (f" and {len(bad) - MAX_NAMED_BAD} more" if len(bad) > MAX_NAMED_BAD else "")
            message = f"{len(bad)} image(s) do not decode: {named}" if bad else "no images found"
            self.store.datasets.update(did, status="XCHECKFAIL", message=message)
            return
        self.store.datasets.update(did, status="XCOPYING", message=f"copying {len(files)} images")
        staging = target / ".staging"
        try:
            shutil.rmtree(staging, ignore_errors=True)
            for rel in files:
                dst = staging / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(folder / rel, dst)
            (staging / "labels.txt").write_text("\n".join(labels) + "\n")
            (staging / "trio_dataset.json").write_text(json.dumps({"files": files, "labels": labels}))
            for child in list(target.iterdir()):
                if child != staging:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
            for child in staging.iterdir():
                os.replace(child, target / child.name)
            staging.rmdir()
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            self.store.datasets.update(did, status="XCOPYFAIL", message=f"copy failed: {exc}")
            return
        self.store.datasets.update(did, status="XCOPYDONE", message=f"{len(files)} images, {len(labels)} classes",
                                   attrs={"num_images": len(files), "num_classes": len(labels)})


def split_classification(store: Store, dataset: dict[str, Any], val_split: float, test_split: float,
                         seed: int = 0) -> dict[str, list[str]]:
    """Stratified, seeded split: each class is shuffled and cut by the same ratios."""
    if dataset["status"] not in ("XCOPYDONE", "XSPLITED"):
        raise Conflict(f"dataset {dataset['id']} has no imported data yet (status {dataset['status']})")
    for name, value in (("val_split", val_split), ("test_split", test_split)):
        if not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValidationFailed(f"{name} must be a number in [0, 1)")
    if val_split + test_split >= 1:
        raise ValidationFailed("val_split + test_split must leave some training data (< 1)")
    folder = store.root / dataset["path"]
    meta = json.loads((folder / "trio_dataset.json").read_text())
    by_class: dict[str, list[str]] = {}
    for rel, label in sorted(meta["files"].items()):
        by_class.setdefault(label, []).append(rel)
    rng = random.Random(seed)
    split = {"train": [], "val": [], "test": []}
    for label in sorted(by_class):
        items = by_class[label]
        rng.shuffle(items)
        n_val, n_test = round(len(items) * val_split), round(len(items) * test_split)
        split["val"] += items[:n_val]
        split["test"] += items[n_val:n_val + n_test]
        split["train"] += items[n_val + n_test:]
    index = {name: i for i, name in enumerate(meta["labels"])}
    for name, items in split.items():
        (folder / f"{name}_list.txt").write_text("".join(f"{rel} {index[meta['files'][rel]]}\n" for rel in sorted(items)))
    meta["split"] = {k: sorted(v) for k, v in split.items()}
    (folder / "trio_dataset.json").write_text(json.dumps(meta))
    store.datasets.update(dataset["id"], status="XSPLITED",
                          message=f"train {len(split['train'])}, val {len(split['val'])}, test {len(split['test'])}")
    return meta["split"]


def details(store: Store, dataset: dict[str, Any]) -> dict[str, Any]:
    folder = store.root / dataset["path"]
    try:
        meta = json.loads((folder / "trio_dataset.json").read_text())
    except FileNotFoundError:
        raise Conflict(f"dataset {dataset['id']} has no imported data yet") from None
    files, split = meta["files"], meta.get("split", {"train": [], "val": [], "test": []})
    label_info: dict[str, list[str]] = {}
    for rel, label in sorted(files.items()):
        label_info.setdefault(label, []).append(rel)

    def per_class(items: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for rel in items:
            out.setdefault(files[rel], []).append(rel)
        return out

    return {
        "file_info": dict(sorted(files.items())), "label_info": label_info, "labels": meta["labels"],
        "train_files": split["train"], "val_files": split["val"], "test_files": split["test"],
        "class_train_file_list": per_class(split["train"]), "class_val_file_list": per_class(split["val"]),
        "class_test_file_list": per_class(split["test"]),
    }

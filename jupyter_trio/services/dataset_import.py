"""Importing a dataset folder into the workspace, splitting it, and describing it.

The import runs in a background thread and moves the dataset through its states: ``checking`` (the
format is detected, every image must decode and every annotation must name a real image, a known class
and a box inside the image) → ``copying`` (into a staging folder) → ``imported``, or ``check_failed`` /
``copy_failed`` with a message naming the bad files; splitting makes it ``split``. (PaddleX calls these
XCHECKING, XCOPYING, XCOPYDONE, XCHECKFAIL, XCOPYFAIL and XSPLITED; its dialect translates.)

Policy: a dataset with any bad file is refused as a whole (nothing is skipped silently), and a failed
import leaves nothing behind — files are copied into ``<dataset>/.staging`` and moved into place only
once all are there. ``trio_dataset.json`` (the normalised :class:`~jupyter_trio.trainers.formats.Manifest`
plus the split) is what the trainers read.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..domain import Dataset, DatasetState, JSONObject
from ..errors import Conflict, ValidationFailed
from ..store import Store, resolve_in_roots
from ..trainers.formats import FormatError, Manifest, scan
from ..trainers.formats.common import inside
from ..vocabulary import IMPORTING

MANIFEST = "trio_dataset.json"


@dataclass(frozen=True, slots=True)
class DatasetDetails:
    """PaddleX's /dataset/details: file → annotation, class → files, and the split per class."""

    file_info: dict[str, str] = field(default_factory=dict)  # image → annotation (classification: label)
    label_info: dict[str, list[str]] = field(default_factory=dict)  # class → images containing it
    labels: list[str] = field(default_factory=list)
    train_files: list[str] = field(default_factory=list)
    val_files: list[str] = field(default_factory=list)
    test_files: list[str] = field(default_factory=list)
    class_train_file_list: dict[str, list[str]] = field(default_factory=dict)
    class_val_file_list: dict[str, list[str]] = field(default_factory=dict)
    class_test_file_list: dict[str, list[str]] = field(default_factory=dict)


def source_folder(roots: list[Path], path: str) -> Path:
    """A server path to import from: absolute, or relative to the first root, inside one of ``roots``
    (``c.TrioApp.import_roots``; the server's root folder by default)."""
    if not path:
        raise ValidationFailed("path is required")
    folder = resolve_in_roots(roots, path)
    if not folder.is_dir():
        raise ValidationFailed(f"path: {path!r} is not a folder")
    return folder


def load_manifest(store: Store, dataset: Dataset) -> JSONObject:
    """The dataset's ``trio_dataset.json`` as parsed (the normalised manifest plus the split)."""
    try:
        return json.loads((store.root / dataset.path / MANIFEST).read_text())
    except FileNotFoundError:
        raise Conflict(f"dataset {dataset.id} has no imported data yet (status {dataset.status})") from None


def copy_into(
    manifest: Manifest, source: Path, target: Path, progress: Callable[[float], None] | None = None
) -> None:
    """Copy the manifest's files to ``target`` through a staging folder, then swap them in; ``progress``
    hears the fraction copied about fifty times along the way."""
    staging = target / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    files = sorted(manifest.files)
    every = max(1, len(files) // 50)
    try:
        for done, rel in enumerate(files, 1):
            src = inside(source, rel)  # checked again: a link may have been swapped in since the scan
            if src is None:
                raise OSError(f"{rel} now leads outside the dataset folder (a symbolic link)")
            dst = staging / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            if progress is not None and done % every == 0:
                progress(done / len(files))
        if manifest.dataset_type != "classification" or manifest.format != "paddlex_list":
            (staging / "labels.txt").write_text("\n".join(manifest.labels) + "\n", encoding="utf-8")
        (staging / MANIFEST).write_text(json.dumps(manifest.to_json()), encoding="utf-8")
        for child in list(target.iterdir()):
            if child != staging:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        for child in staging.iterdir():
            os.replace(child, target / child.name)
        staging.rmdir()
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def import_folder(
    store: Store,
    dataset: Dataset,
    folder: Path,
    progress: Callable[[str, float], None] | None = None,
) -> bool:
    """Check and copy ``folder`` into the dataset, updating its status as it goes; True on success."""
    did, target = dataset.id, store.root / dataset.path
    target.mkdir(parents=True, exist_ok=True)
    try:
        manifest, problems = scan(dataset.dataset_type, folder)
    except (FormatError, OSError) as exc:
        store.datasets.update(did, status=DatasetState.CHECK_FAILED, message=str(exc))
        return False
    if problems or not manifest.samples:
        store.datasets.update(
            did,
            status=DatasetState.CHECK_FAILED,
            message=problems.message() if problems else "no images found",
        )
        return False
    store.datasets.update(did, status=DatasetState.COPYING, message=f"copying {len(manifest.samples)} images")
    try:
        copy_into(manifest, folder, target, progress and (lambda fraction: progress(did, fraction)))
    except OSError as exc:
        store.datasets.update(did, status=DatasetState.COPY_FAILED, message=f"copy failed: {exc}")
        return False
    store.datasets.update(
        did,
        status=DatasetState.IMPORTED,
        message=f"{len(manifest.samples)} images, {len(manifest.labels)} classes ({manifest.format})",
        attrs={
            **dataset.attrs,
            "num_images": len(manifest.samples),
            "num_classes": len(manifest.labels),
            "format": manifest.format,
        },
    )
    return True


class DatasetImporter:
    """Runs imports in background threads, one at a time per dataset."""

    def __init__(self, store: Store, roots: list[Path]):
        self.store = store
        self.roots = roots
        self._threads: dict[str, threading.Thread] = {}
        # told (dataset id, fraction copied) as an import copies its files
        self.on_progress: Callable[[str, float], None] | None = None

    def start(self, dataset: Dataset, path: str) -> None:
        if dataset.status in IMPORTING:
            raise Conflict(f"dataset {dataset.id} is already importing")
        folder = source_folder(self.roots, path)
        self.store.datasets.update(
            dataset.id,
            status=DatasetState.CHECKING,
            message="checking images and annotations",
            source_path=str(folder),
        )
        thread = threading.Thread(
            target=import_folder,
            args=(self.store, dataset, folder, self.on_progress),
            daemon=True,
            name=f"trio-import-{dataset.id}",
        )
        self._threads[dataset.id] = thread
        thread.start()

    def wait(self, did: str, timeout: float | None = None) -> None:
        thread = self._threads.get(did)
        if thread is not None:
            thread.join(timeout)


def _strata(samples: dict[str, JSONObject]) -> dict[str, str]:
    """Each image's stratum: its rarest class (so rare classes reach every split); '' without any."""
    frequency = Counter(c for s in samples.values() for c in s.get("classes", []))
    return {rel: min(s.get("classes") or [""], key=lambda c: (frequency[c], c)) for rel, s in samples.items()}


def _quotas(weights: dict[str, int], caps: dict[str, int], wanted: int, rng: random.Random) -> dict[str, int]:
    """How many items each stratum gives so that the total is exactly ``wanted`` (as far as ``caps``
    allow), shared in proportion to ``weights`` by largest remainder; ties go by the seeded ``rng``."""
    total = sum(weights.values()) or 1
    exact = {s: wanted * w / total for s, w in weights.items()}
    quota = {s: min(caps[s], int(exact[s])) for s in weights}
    ties = {s: rng.random() for s in weights}
    for s in sorted(weights, key=lambda s: (quota[s] - exact[s], ties[s])) * 2:
        if sum(quota.values()) >= wanted:
            break
        if quota[s] < caps[s]:
            quota[s] += 1
    return quota


def split_dataset(
    store: Store, dataset: Dataset, val_split: float, test_split: float, seed: int = 0
) -> dict[str, list[str]]:
    """Stratified, seeded split: each stratum is shuffled and cut by the same ratios."""
    if dataset.status not in (DatasetState.IMPORTED, DatasetState.SPLIT):
        raise Conflict(f"dataset {dataset.id} has no imported data yet (status {dataset.status})")
    for name, value in (("val_split", val_split), ("test_split", test_split)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValidationFailed(f"{name} must be a number in [0, 1)")
    if val_split + test_split >= 1:
        raise ValidationFailed("val_split + test_split must leave some training data (< 1)")
    folder = store.root / dataset.path
    meta = load_manifest(store, dataset)
    by_stratum: dict[str, list[str]] = {}
    for rel, stratum in sorted(_strata(meta["samples"]).items()):
        by_stratum.setdefault(stratum, []).append(rel)
    rng = random.Random(seed)
    order = sorted(by_stratum)
    for stratum in order:
        rng.shuffle(by_stratum[stratum])
    total = sum(len(items) for items in by_stratum.values())
    sizes = {s: len(by_stratum[s]) for s in order}
    n_val = _quotas(sizes, sizes, round(total * val_split), rng)
    n_test = _quotas(sizes, {s: sizes[s] - n_val[s] for s in order}, round(total * test_split), rng)
    split: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for stratum in order:
        items, v, t = by_stratum[stratum], n_val[stratum], n_test[stratum]
        split["val"] += items[:v]
        split["test"] += items[v : v + t]
        split["train"] += items[v + t :]
    meta["split"] = {k: sorted(v) for k, v in split.items()}
    meta["split_params"] = {"val_split": val_split, "test_split": test_split, "seed": seed}
    _write_lists(folder, meta)
    (folder / MANIFEST).write_text(json.dumps(meta), encoding="utf-8")
    store.datasets.update(
        dataset.id,
        status=DatasetState.SPLIT,
        message=f"train {len(split['train'])}, val {len(split['val'])}, test {len(split['test'])}",
    )
    return meta["split"]


def _write_lists(folder: Path, meta: JSONObject) -> None:
    """PaddleX list files of the split, so the folder is also a valid PaddleX dataset."""
    samples, index = meta["samples"], {name: i for i, name in enumerate(meta["labels"])}
    for name, items in meta["split"].items():
        if meta["type"] == "classification":
            lines = [f"{rel} {index[samples[rel]['label']]}" for rel in items]
        elif meta["format"] == "coco":
            lines = items
        else:
            lines = [f"{rel} {samples[rel]['annotation']}" for rel in items]
        (folder / f"{name}_list.txt").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def details(store: Store, dataset: Dataset) -> DatasetDetails:
    """PaddleX's /dataset/details: file → annotation, class → files, and the split per class."""
    meta = load_manifest(store, dataset)
    samples = meta["samples"]
    split = meta.get("split", {"train": [], "val": [], "test": []})
    label_info: dict[str, list[str]] = {label: [] for label in meta["labels"]}
    for rel in sorted(samples):
        for label in samples[rel].get("classes", []):
            label_info.setdefault(label, []).append(rel)

    def per_class(items: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for rel in items:
            for label in samples[rel].get("classes", []):
                out.setdefault(label, []).append(rel)
        return out

    return DatasetDetails(
        file_info={rel: samples[rel]["annotation"] for rel in sorted(samples)},
        label_info=label_info,
        labels=meta["labels"],
        train_files=split["train"],
        val_files=split["val"],
        test_files=split["test"],
        class_train_file_list=per_class(split["train"]),
        class_val_file_list=per_class(split["val"]),
        class_test_file_list=per_class(split["test"]),
    )

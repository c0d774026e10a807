"""What every dataset format shares: image checks, list files, labels.txt, and the problem list.

A :class:`Problems` collects every bad file of an import (not just the first), so one failed import
tells the user everything to fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from ...store.paths import PathOutsideWorkspace, resolve_inside

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
MAX_NAMED = 20
# A box may overshoot the image by this many pixels (rounding in annotation tools) before it is refused.
BOX_TOLERANCE = 1.0


class FormatError(ValueError):
    """The folder is not a dataset of the expected format at all (as opposed to a few bad files)."""


@dataclass
class Problems:
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, why: str) -> None:
        self.items.append((where, why))

    def __bool__(self) -> bool:
        return bool(self.items)

    def message(self) -> str:
        shown = "; ".join(f"{where}: {why}" for where, why in self.items[:MAX_NAMED])
        more = f"; and {len(self.items) - MAX_NAMED} more" if len(self.items) > MAX_NAMED else ""
        return f"{len(self.items)} bad file(s): {shown}{more}"


@dataclass
class Manifest:
    """A validated dataset, normalised: what the importer copies and what trainers read.

    ``samples`` maps each image (relative path) to its annotation: ``label`` (classification),
    ``objects`` (detection / instance segmentation: ``label``, ``bbox`` [x1, y1, x2, y2] and
    ``segmentation`` as COCO polygons or RLE), ``mask`` (segmentation). ``annotation`` names the
    file that holds it (PaddleX's file_info), ``classes`` the labels present.
    """

    dataset_type: str
    format: str
    labels: list[str]
    samples: dict[str, dict[str, Any]]
    files: set[str] = field(default_factory=set)  # every file to copy (images and annotation files)
    extra: dict[str, Any] = field(default_factory=dict)  # what a type adds (remote sensing: bands, stats)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "type": self.dataset_type,
            "format": self.format,
            "labels": self.labels,
            "samples": self.samples,
            **self.extra,
        }


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) if the file fully decodes as an image, else ``None``."""
    try:
        with Image.open(path) as im:
            im.load()
            return im.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def is_image(path: Path) -> bool:
    return path.is_file() and not path.is_symlink() and path.suffix.lower() in IMAGE_SUFFIXES


def inside(folder: Path, rel: str) -> Path | None:
    """``rel`` under ``folder``, or ``None`` when it escapes (``..``, absolute, symlink)."""
    try:
        return resolve_inside(folder, rel)
    except PathOutsideWorkspace:
        return None


def links_leaving(folder: Path) -> list[str]:
    """Symbolic links under ``folder`` (files or folders, at any depth) whose target lies outside it,
    as paths relative to ``folder``. Links are listed, never followed, so the walk stays inside."""
    real = os.path.realpath(folder)
    found: list[str] = []
    pending = [real]
    while pending:
        here = pending.pop()
        try:
            entries = list(os.scandir(here))
        except OSError:
            continue  # an unreadable folder: the format scan reports what it cannot read
        for entry in entries:
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if target != real and not target.startswith(real + os.sep):
                    found.append(os.path.relpath(entry.path, real).replace(os.sep, "/"))
            elif entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
    return sorted(found)


def read_labels(path: Path) -> list[str]:
    labels = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    labels = [label for label in labels if label]
    if len(set(labels)) != len(labels):
        raise FormatError(f"{path.name} lists a class twice")
    return labels


def list_files(folder: Path) -> list[Path]:
    """PaddleX's split list files present in ``folder`` (train_list.txt first)."""
    return [
        folder / name
        for name in ("train_list.txt", "val_list.txt", "test_list.txt")
        if (folder / name).is_file()
    ]


def read_list(folder: Path, list_file: Path, problems: Problems, columns: int = 2) -> list[list[str]]:
    """Lines of a PaddleX list file, each split into ``columns`` fields; bad lines become problems.

    Paths in the first ``columns - 1`` (or all path) fields must stay inside ``folder``.
    """
    rows = []
    for number, line in enumerate(list_file.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().rsplit(maxsplit=columns - 1) if columns > 1 else [line.strip()]
        where = f"{list_file.name} line {number}"
        if len(parts) != columns:
            problems.add(where, f"expected {columns} fields, got {line.strip()!r}")
            continue
        rows.append([where, *parts])
    return rows


def check_relative(folder: Path, rel: str, where: str, problems: Problems) -> Path | None:
    """A path named by an annotation or list file: inside ``folder`` and existing, or a problem."""
    path = inside(folder, rel)
    if path is None:
        problems.add(where, f"{rel!r} leaves the dataset folder")
        return None
    if not path.is_file():
        problems.add(where, f"{rel!r} does not exist")
        return None
    return path


def list_pairs(folder: Path, problems: Problems) -> list[tuple[str, Path, Path]]:
    """(where, image, annotation) from PaddleX list files whose lines read ``image annotation``."""
    pairs = []
    for list_file in list_files(folder):
        for where, image_rel, ann_rel in read_list(folder, list_file, problems):
            image = check_relative(folder, image_rel, where, problems)
            annotation = check_relative(folder, ann_rel, where, problems)
            if image and annotation:
                pairs.append((where, image, annotation))
    return pairs


def relative(folder: Path, path: Path) -> str:
    return path.resolve().relative_to(folder.resolve()).as_posix()


def box_inside(box: list[float], width: int, height: int) -> bool:
    x1, y1, x2, y2 = box
    t = BOX_TOLERANCE
    return -t <= x1 < x2 <= width + t and -t <= y1 < y2 <= height + t

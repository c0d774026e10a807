"""Classification datasets: ImageNet-style class folders, or PaddleX's labels.txt + list files."""

from __future__ import annotations

from pathlib import Path

from .common import (
    FormatError,
    Manifest,
    Problems,
    check_relative,
    image_size,
    is_image,
    list_files,
    read_labels,
    read_list,
    relative,
)


def scan_folders(folder: Path, problems: Problems) -> Manifest:
    labels = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not labels:
        raise FormatError(
            "a classification dataset needs one sub-folder per class, or labels.txt + train_list.txt"
        )
    samples = {}
    for label in labels:
        for image in sorted((folder / label).rglob("*")):
            if not is_image(image):
                continue
            rel = image.relative_to(folder).as_posix()
            if image_size(image) is None:
                problems.add(rel, "image does not decode")
                continue
            samples[rel] = {"label": label, "annotation": label, "classes": [label]}
    return Manifest("classification", "imagenet", labels, samples, set(samples))


def scan_lists(folder: Path, problems: Problems) -> Manifest:
    labels = read_labels(folder / "labels.txt")
    samples = {}
    for list_file in list_files(folder):
        for where, rel, index in read_list(folder, list_file, problems):
            path = check_relative(folder, rel, where, problems)
            if path is None:
                continue
            if not index.isdigit() or int(index) >= len(labels):
                problems.add(where, f"unknown class {index!r} (labels.txt has {len(labels)} classes)")
                continue
            if image_size(path) is None:
                problems.add(relative(folder, path), "image does not decode")
                continue
            label = labels[int(index)]
            samples[relative(folder, path)] = {"label": label, "annotation": label, "classes": [label]}
    return Manifest("classification", "paddlex_list", labels, samples, set(samples) | {"labels.txt"})


def scan(folder: Path, problems: Problems) -> Manifest:
    if (folder / "labels.txt").is_file() and list_files(folder):
        return scan_lists(folder, problems)
    return scan_folders(folder, problems)

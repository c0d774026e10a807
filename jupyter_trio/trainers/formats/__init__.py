"""Dataset formats: find, validate and normalise a dataset folder of any supported type.

``scan(dataset_type, folder)`` returns a :class:`Manifest` and the :class:`Problems` it found. The
importer refuses a dataset with any problem (and names the files), so what lands in the workspace is
always complete and trainable. A symbolic link whose target is outside the folder (a class folder, an
image, ``labels.txt``...) is such a problem, found before any file is read: an import reads only what
is inside the folder it was given, which is inside ``c.TrioApp.import_roots``.

| type | formats (detected from the folder) |
| --- | --- |
| classification | class sub-folders (ImageNet style); ``labels.txt`` + ``train_list.txt`` (``image index``) |
| detection | Pascal VOC (JPEGImages/ + Annotations/*.xml, or lists ``image xml``); COCO annotations.json |
| segmentation | JPEGImages/ + Annotations/*.png one-channel masks, or lists ``image mask``; ``labels.txt`` |
| instance_segmentation | COCO ``annotations.json`` with polygon or RLE segmentations |
| remote_segmentation | as segmentation, with N-band GeoTIFF/TIFF or ``.npy`` images (``remote.py``) |
"""

from __future__ import annotations

from pathlib import Path

from . import classification, coco, remote, segmentation, voc
from .common import FormatError, Manifest, Problems, links_leaving

__all__ = ["FormatError", "Manifest", "Problems", "scan"]
TYPES = ("classification", "detection", "segmentation", "instance_segmentation", "remote_segmentation")


def scan(dataset_type: str, folder: Path) -> tuple[Manifest, Problems]:
    problems = Problems()
    if dataset_type not in TYPES:
        raise FormatError(f"unknown dataset type {dataset_type!r}")
    for rel in links_leaving(folder):
        problems.add(rel, "a symbolic link to outside the dataset folder; only files inside it are read")
    if problems:
        return Manifest(dataset_type, "", [], {}), problems
    if dataset_type == "classification":
        manifest = classification.scan(folder, problems)
    elif dataset_type == "detection":
        if coco.find_annotation_file(folder) is not None and not (folder / "Annotations").is_dir():
            manifest = coco.scan(folder, problems, "detection")
        else:
            manifest = voc.scan(folder, problems)
    elif dataset_type == "segmentation":
        manifest = segmentation.scan(folder, problems)
    elif dataset_type == "instance_segmentation":
        manifest = coco.scan(folder, problems, "instance_segmentation")
    elif dataset_type == "remote_segmentation":
        manifest = remote.scan(folder, problems)
    else:
        raise FormatError(f"unknown dataset type {dataset_type!r}")
    return manifest, problems

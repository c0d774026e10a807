"""Workspace files for viewing: images (optionally with their dataset labels drawn), XML, text.

Serves PaddleX's ``/file`` and the native dataset image preview. Paths may be absolute or relative to
the workspace, and must stay inside it.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ..errors import Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from ..store import Store, resolve_inside
from ..trainers.formats.common import IMAGE_SUFFIXES
from ..trainers.visualize import draw_annotation
from .dataset_import import load_manifest

TEXT_SUFFIXES = {".log", ".txt"}
MAX_BYTES = 32 * 1024 * 1024


def workspace_file(store: Store, path: str) -> Path:
    if not path:
        raise ValidationFailed("path is required")
    target = resolve_inside(store.root, path)
    if target.parent == Path(os.path.realpath(store.root)) and target.name.startswith(store.layout.DB_FILE):
        raise Forbidden("the workspace database is not served as a file")
    if not target.is_file():
        raise NotFound(f"no such file in the workspace: {path}")
    if target.stat().st_size > MAX_BYTES:
        raise PayloadTooLarge(f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    return target


def kind_of(target: Path) -> str:
    suffix = target.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix == ".xml":
        return "xml"
    if suffix in TEXT_SUFFIXES:
        return "text"
    raise ValidationFailed(f"{target.name}: only images ({', '.join(sorted(IMAGE_SUFFIXES))}), .xml, .log and "
                           ".txt files can be fetched")


def image_bytes(store: Store, target: Path, dataset: dict[str, Any] | None) -> tuple[bytes, str]:
    """(bytes, content type): the file itself, or a PNG with the dataset's labels drawn."""
    if dataset is None:
        return target.read_bytes(), "image/png" if target.suffix.lower() == ".png" else "image/jpeg"
    folder = Path(os.path.realpath(store.root / dataset["path"]))
    if folder not in target.parents:
        raise ValidationFailed(f"path is not a file of dataset {dataset['id']}")
    manifest = load_manifest(store, dataset)
    image = draw_annotation(target, folder, manifest, target.relative_to(folder).as_posix())
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue(), "image/png"

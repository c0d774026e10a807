"""Workspace files: for viewing (images, optionally with their dataset labels drawn; XML; text) and the
native file routes (download, folder listing, uploads under ``uploads/``).

Serves PaddleX's ``/file``, the native dataset image preview and ``/trio/api/files``. Paths may be
absolute or relative to the workspace, and must stay inside it; the database is never served.
"""

from __future__ import annotations

import io
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..domain import Dataset
from ..errors import Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from ..store import Store, resolve_inside
from ..trainers import rasters
from ..trainers.formats.common import IMAGE_SUFFIXES
from ..trainers.visualize import draw_annotation
from .dataset_import import load_manifest

TEXT_SUFFIXES = {".log", ".txt"}
VIEWABLE_IMAGES = IMAGE_SUFFIXES | rasters.RASTER_SUFFIXES
MAX_BYTES = 32 * 1024 * 1024
WRITABLE_ROOT = "uploads"


def kind_of(target: Path) -> str:
    suffix = target.suffix.lower()
    if suffix in VIEWABLE_IMAGES:
        return "image"
    if suffix == ".xml":
        return "xml"
    if suffix in TEXT_SUFFIXES:
        return "text"
    raise ValidationFailed(
        f"{target.name}: only images ({', '.join(sorted(VIEWABLE_IMAGES))}), .xml, .log and "
        ".txt files can be fetched"
    )


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


class WorkspaceFiles:
    """The workspace's files as the native ``/trio/api/files`` routes and the previews see them."""

    def __init__(self, store: Store, decoders: int = 2):
        self.store = store
        # image decodes (a raster may take up to rasters.MAX_BYTES) run here, at most ``decoders`` at once:
        # off the event loop, and never crowding the default executor's other work (archive streams)
        self.decoder = ThreadPoolExecutor(max_workers=decoders, thread_name_prefix="trio-decode")

    @property
    def root(self) -> Path:
        return self.store.root

    def relative(self, path: Path) -> str:
        return self.store.layout.relative(path)

    def _is_db(self, target: Path) -> bool:
        # any case: on a case-insensitive filesystem (macOS) TRIO.DB is the database too
        return target.parent == Path(os.path.realpath(self.store.root)) and target.name.lower().startswith(
            self.store.layout.DB_FILE
        )

    def target(self, path: str) -> Path:
        """A readable path (file or folder) inside the workspace; never the database, never a hidden path
        (any part starting with ``.``: the workspace's keys in ``.trio/``, part files of uploads) — a rule,
        so a secret added there later is covered too."""
        target = resolve_inside(self.store.root, path)
        if self._is_db(target):
            raise Forbidden("the workspace database is not served as a file", code="forbidden")
        relative = (
            target.relative_to(self.store.layout.real_root) if target != self.store.layout.real_root else None
        )
        if relative is not None and _hidden(relative):
            raise Forbidden("hidden files and folders of the workspace are not served", code="forbidden")
        if relative is not None and relative.name == "command.json" and "runs" in relative.parts:
            # what a job's supervisor was handed: runs from before the supervisor emptied it held the
            # server's environment, its credentials among them
            raise Forbidden("a run's command.json is not served", code="forbidden")
        return target

    def listing(self, folder: Path) -> list[dict[str, Any]]:
        entries = []
        for child in sorted(folder.iterdir(), key=lambda p: p.name):
            if self._is_db(child) or child.name.startswith("."):
                continue
            st = child.stat()
            entries.append(
                {
                    "name": child.name,
                    "path": self.relative(child),
                    "is_dir": child.is_dir(),
                    "size": st.st_size,
                    "modified": st.st_mtime,
                }
            )
        return entries

    def writable(self, path: str) -> Path:
        target = self.target(path)
        uploads = self.store.root / WRITABLE_ROOT
        if target == uploads or uploads.resolve() not in target.parents:
            raise Forbidden(
                f"files can only be written under {WRITABLE_ROOT}/ of the workspace", code="read_only"
            )
        return target

    def write_upload(self, path: str, body: bytes) -> Path:
        target = self.writable(path)
        if target.is_dir():
            raise Forbidden(f"{path} is a folder", code="is_a_directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        tmp.write_bytes(body)
        os.replace(tmp, target)
        return target

    def delete_upload(self, path: str) -> None:
        target = self.writable(path)
        if not target.is_file():
            raise NotFound(f"no such file in the workspace: {path}")
        target.unlink()

    def viewable(self, path: str) -> Path:
        """A file to show (PaddleX's /file, dataset previews): inside the workspace, not the database,
        at most MAX_BYTES."""
        if not path:
            raise ValidationFailed("path is required")
        target = self.target(path)
        if not target.is_file():
            raise NotFound(f"no such file in the workspace: {path}")
        if target.stat().st_size > MAX_BYTES:
            raise PayloadTooLarge(f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MiB")
        return target

    def image(self, target: Path, dataset: Dataset | None, bands: str | None = None) -> tuple[bytes, str]:
        """(bytes, content type): the file itself, or a PNG with the dataset's labels drawn. A multi-band
        image is always a PNG of three of its bands (``bands``: 1-based, "4,3,2"; the first three by
        default)."""
        raster = rasters.is_raster(target)
        triple = None
        if bands is not None:
            if not raster:
                raise ValidationFailed("bands: only for multi-band images (.tif, .tiff, .npy)")
            triple = tuple(int(b) - 1 for b in bands.split(","))
        if dataset is None and not raster:
            return target.read_bytes(), "image/png" if target.suffix.lower() == ".png" else "image/jpeg"
        try:
            picture = rasters.rgb(rasters.read(target), triple) if raster else None  # type: ignore[arg-type]
        except rasters.RasterError as exc:
            raise ValidationFailed(f"{target.name}: {exc}") from None
        if dataset is None:
            image = picture
        else:
            folder = Path(os.path.realpath(self.store.root / dataset.path))
            if folder not in target.parents:
                raise ValidationFailed(f"path is not a file of dataset {dataset.id}")
            manifest = load_manifest(self.store, dataset)
            image = draw_annotation(target, folder, manifest, target.relative_to(folder).as_posix(), picture)
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue(), "image/png"

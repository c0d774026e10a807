"""Remote-sensing segmentation datasets: multi-band images + single-channel PNG label masks.

Laid out as segmentation datasets are (JPEGImages/ + Annotations/ by file stem, or PaddleX list files,
labels.txt), with images that are GeoTIFF/TIFF files of N bands, ``.npy`` arrays, or ordinary images
(3 bands). Every image must have the same number of bands; the manifest records that number and each
band's statistics (min, max, and mean/std after min-max scaling) for normalisation.
"""

from __future__ import annotations

from pathlib import Path

from .. import rasters
from .common import IMAGE_SUFFIXES, Manifest, Problems, read_labels, relative
from .segmentation import known_classes, manifest, mask_classes, pairs


def _is_raster_or_image(path: Path) -> bool:
    return (
        path.is_file()
        and not path.is_symlink()
        and (rasters.is_raster(path) or path.suffix.lower() in IMAGE_SUFFIXES)
    )


def scan(folder: Path, problems: Problems) -> Manifest:
    labels = read_labels(folder / "labels.txt") if (folder / "labels.txt").is_file() else None
    found: dict[str, tuple[str, set[int]]] = {}
    stats = rasters.BandStats()
    bands: int | None = None
    sizes: dict[str, tuple[int, int]] = {}
    for _where, image, mask in pairs(folder, problems, _is_raster_or_image, "remote_segmentation"):
        image_rel, mask_rel = relative(folder, image), relative(folder, mask)
        try:
            array = rasters.read(image)
        except rasters.RasterError as exc:
            problems.add(image_rel, str(exc))
            continue
        if bands is None:
            bands = array.shape[2]
        elif array.shape[2] != bands:
            problems.add(image_rel, f"has {array.shape[2]} bands, the first image has {bands}")
            continue
        values = mask_classes(mask, (array.shape[1], array.shape[0]), mask_rel, problems)
        if values is not None and known_classes(values, labels, mask_rel, problems):
            found[image_rel] = (mask_rel, values)
            sizes[image_rel] = (array.shape[1], array.shape[0])
            stats.add(array)
    result = manifest(
        "remote_segmentation", folder, labels, found, {"bands": bands or 0, "band_stats": stats.to_json()}
    )
    for rel, sample in result.samples.items():  # Pillow cannot open every raster: sizes kept here
        sample["width"], sample["height"] = sizes[rel]
    return result

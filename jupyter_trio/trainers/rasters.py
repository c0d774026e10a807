"""Multi-band images (remote sensing): read, measure, resize, normalise and show as RGB.

A raster is a float32 array (height, width, bands). GeoTIFF/TIFF files with any number of bands are read
with ``tifffile`` (samples-last and planar layouts), ``.npy`` arrays as (height, width[, bands]), and
ordinary images as their RGB bands. Normalisation follows PaddleX's remote-sensing transforms: each band
is scaled by the dataset's min and max to [0, 1], then standardised by that band's mean and std (all four
measured per band at import).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import tifffile
from PIL import Image

RASTER_SUFFIXES = {".tif", ".tiff", ".npy"}
MAX_BANDS = 64
MAX_BYTES = 2**30  # what decoding one raster may hold at once (decoded array + float32 copy)


class RasterError(ValueError):
    """The file is not a readable raster (says why)."""


def _planar_to_last(array: np.ndarray, axes: str) -> np.ndarray:
    axes = axes.upper()
    if array.ndim == 3 and axes and axes[0] in "CSQI" and axes[-1] == "X":
        return np.moveaxis(array, 0, -1)
    return array


def read(path: Path) -> np.ndarray:
    """The raster at ``path`` as float32 (height, width, bands)."""
    return _decode(Path(path), Path(path).suffix.lower())


def read_bytes(data: bytes, name: str) -> np.ndarray:
    """A raster sent as bytes (a prediction request); ``name``'s suffix says its format."""
    return _decode(io.BytesIO(data), Path(name).suffix.lower())


def _check_size(shape: tuple[int, ...], itemsize: int) -> None:
    """Refuse what would take more than MAX_BYTES to decode, before decoding it: a small compressed file or a
    .npy header can declare terabytes (a 350 KB tiled TIFF declares 10,000 x 10,000 x 3). What counts is
    what decoding holds at once: the decoded array and its float32 copy."""
    values = int(np.prod(shape, dtype=np.float64))
    size = values * (itemsize + np.dtype(np.float32).itemsize)
    if size > MAX_BYTES:
        raise RasterError(
            f"decodes to {size / 2**30:.1f} GiB {list(shape)} (as read and as float32); at most "
            f"{MAX_BYTES // 2**30} GiB"
        )


def _decode(source: Path | BinaryIO, suffix: str) -> np.ndarray:
    try:
        if suffix == ".npy":
            if isinstance(source, Path):  # mapped: its shape is known before anything is read
                mapped = np.load(source, allow_pickle=False, mmap_mode="r")
                _check_size(mapped.shape, mapped.dtype.itemsize)
                array = np.asarray(mapped)
            else:  # bytes: the header first
                major, _ = np.lib.format.read_magic(source)
                read_header = (
                    np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(source)
                _check_size(shape, np.dtype(dtype).itemsize)
                source.seek(0)
                array = np.load(source, allow_pickle=False)
        elif suffix in (".tif", ".tiff"):
            with tifffile.TiffFile(source) as tif:
                series = tif.series[0]
                _check_size(series.shape, np.dtype(series.dtype).itemsize)
                array = _planar_to_last(series.asarray(), series.axes)
        else:
            with Image.open(source) as im:
                _check_size((im.height, im.width, 3), 1)
                array = np.asarray(im.convert("RGB"))
    except RasterError:
        raise
    except (OSError, ValueError, SyntaxError, KeyError, IndexError, TypeError, MemoryError) as exc:
        raise RasterError(f"does not decode ({exc.__class__.__name__}: {exc})") from None
    except Image.DecompressionBombError as exc:
        raise RasterError(f"too large to decode ({exc})") from None
    if array.ndim == 2:
        array = array[:, :, None]
    if (
        array.ndim != 3
        or array.dtype.kind not in "uif"
        or not 1 <= array.shape[2] <= MAX_BANDS
        or 0 in array.shape
    ):
        raise RasterError(
            f"must be (height, width) or (height, width, bands ≤ {MAX_BANDS}) numbers, "
            f"not {array.dtype} {list(array.shape)}"
        )
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise RasterError("holds NaN or infinite values")
    return array


def is_raster(path: Path) -> bool:
    return Path(path).suffix.lower() in RASTER_SUFFIXES


@dataclass
class BandStats:
    """Per-band min, max, and mean/std of the min-max-scaled values, accumulated image by image."""

    count: int = 0
    total: np.ndarray | None = None
    squares: np.ndarray | None = None
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    def add(self, array: np.ndarray) -> None:
        flat = array.reshape(-1, array.shape[2]).astype(np.float64)
        if self.total is None:
            self.total, self.squares = flat.sum(0), (flat**2).sum(0)
            self.low, self.high = flat.min(0), flat.max(0)
        else:
            self.total += flat.sum(0)
            self.squares += (flat**2).sum(0)
            self.low, self.high = np.minimum(self.low, flat.min(0)), np.maximum(self.high, flat.max(0))
        self.count += len(flat)

    def to_json(self) -> dict[str, list[float]]:
        if self.total is None:
            return {"min": [], "max": [], "mean": [], "std": []}
        mean = self.total / self.count
        std = np.sqrt(np.maximum(self.squares / self.count - mean**2, 0))
        span = span_of(self.low, self.high)
        scaled_std = std / span
        return {
            "min": [float(v) for v in self.low],
            "max": [float(v) for v in self.high],
            "mean": [float(v) for v in (mean - self.low) / span],
            # a constant band (NoData, say) keeps std 1: other values must not be blown up
            "std": [float(v) if v > 1e-6 else 1.0 for v in scaled_std],
        }


def span_of(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """max - min per band; 1 where a band is constant."""
    span = np.asarray(high, np.float64) - np.asarray(low, np.float64)
    return np.where(span > 0, span, 1.0)


def resize(array: np.ndarray, size: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """(height, width, bands) resized to ``size`` = (width, height), band by band."""
    w, h = size
    if array.shape[1] == w and array.shape[0] == h:
        return array
    method = Image.NEAREST if nearest else Image.BILINEAR
    bands = [
        np.asarray(Image.fromarray(array[:, :, b]).resize((w, h), method)) for b in range(array.shape[2])
    ]
    return np.stack(bands, axis=2).astype(np.float32)


def normalise(array: np.ndarray, p: Any) -> np.ndarray:
    """(height, width, bands) → (bands, height, width): min-max scaled per band, then standardised."""
    low = np.asarray(p.image_min, np.float32)
    scaled = (array - low) / span_of(p.image_min, p.image_max).astype(np.float32)
    out = (scaled - np.asarray(p.image_mean, np.float32)) / np.asarray(p.image_std, np.float32)
    return out.transpose(2, 0, 1).copy()


def rgb(array: np.ndarray, bands: tuple[int, int, int] | None = None) -> Image.Image:
    """Three bands (0-based indices; the first three by default) shown as an RGB image, each stretched
    between its 2nd and 98th percentile."""
    n = array.shape[2]
    if bands is None:
        bands = (0, 1, 2) if n >= 3 else (0, 0, 0)
    if any(b < 0 or b >= n for b in bands):
        raise RasterError(f"bands {[b + 1 for b in bands]} are not all among the image's {n} bands")
    out = np.empty((*array.shape[:2], 3), np.uint8)
    for i, b in enumerate(bands):
        band = array[:, :, b]
        lo, hi = np.percentile(band, (2, 98))
        out[:, :, i] = np.clip((band - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
    return Image.fromarray(out)

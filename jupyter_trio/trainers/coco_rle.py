"""Masks as COCO RLE for JSON replies (uncompressed counts, column-major, starting with background)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .formats.coco import encode_rle, segmentation_mask


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """A label map or 0/1 mask: 0/1 masks as one RLE; label maps as one RLE per class present."""
    values = np.unique(mask)
    if set(values.tolist()) <= {0, 1}:
        return encode_rle(mask.astype(np.uint8))
    return {"per_class": {int(v): encode_rle((mask == v).astype(np.uint8)) for v in values}}


def rle_to_mask(rle: dict[str, Any]) -> np.ndarray:
    h, w = rle["size"]
    return segmentation_mask(rle, w, h)

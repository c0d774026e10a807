"""Issue 33, finding 6: a small file that declares a huge raster is refused before anything is allocated —
read from the workspace or from bytes (a prediction upload), and through PaddleX's /file preview."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from jupyter_trio.trainers import rasters

SIDE = 10_000  # 10,000 x 10,000 x 3 uint8: 300 MB decoded, 1.2 GB as float32


def tiff_bomb(path: Path) -> Path:
    """A ~350 KB zlib-tiled TIFF of zeros that decodes to SIDE x SIDE x 3."""
    tile = np.zeros((256, 256, 3), np.uint8)
    tiles = ((SIDE + 255) // 256) ** 2
    tifffile.imwrite(
        path,
        data=(tile for _ in range(tiles)),
        shape=(SIDE, SIDE, 3),
        dtype="uint8",
        tile=(256, 256),
        compression="zlib",
        photometric="rgb",
    )
    return path


def test_a_small_tiff_that_declares_a_huge_raster_is_refused_unread(tmp_path, monkeypatch):
    bomb = tiff_bomb(tmp_path / "bomb.tif")
    assert bomb.stat().st_size < 1_000_000

    def decoded(*args, **kwargs):
        raise AssertionError("the raster was decoded before its size was checked")

    monkeypatch.setattr(tifffile.TiffPageSeries, "asarray", decoded)  # refused from the header alone
    with pytest.raises(rasters.RasterError, match="GiB"):
        rasters.read(bomb)
    with pytest.raises(rasters.RasterError, match="GiB"):
        rasters.read_bytes(bomb.read_bytes(), "x.tif")


async def test_the_file_preview_refuses_it_with_a_4xx(px, trio_workspace):
    bomb = tiff_bomb(trio_workspace / "uploads" / "bomb.tif")
    status, reply = await px("GET", "file", {"path": str(bomb)})
    assert 400 <= status < 500 and reply["status"] == -1 and "GiB" in reply["message"]

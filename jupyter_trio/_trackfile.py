"""The binary format of tracked series, shared by the writer (in jobs) and the reader (server).

A file ``metrics/<host>-<pid>.trk`` is a sequence of blocks, one per series per flush::

    b"TRK1" | u32 key length | u32 point count | key (utf-8) | count x i64 step | count x f64 value
            | count x f64 time

all little-endian. A block is written with one ``write()`` on an ``O_APPEND`` file, so a reader sees
whole blocks or a short tail it must wait for. Writing is ``array.tobytes()`` — no per-point Python
work — which keeps ``track()`` cheap even when thousands of points are flushed at once.
"""

from __future__ import annotations

import struct
from array import array

MAGIC = b"TRK1"
HEADER = struct.Struct("<4sII")
SUFFIX = ".trk"


def encode(key: str, steps: list[int], values: list[float], times: list[float]) -> bytes:
    name = key.encode()
    return b"".join(
        (
            HEADER.pack(MAGIC, len(name), len(steps)),
            name,
            array("q", steps).tobytes(),
            array("d", values).tobytes(),
            array("d", times).tobytes(),
        )
    )


def decode(data: bytes) -> tuple[list[tuple[str, list[int], list[float], list[float]]], int, int]:
    """Parse whole blocks from ``data``: (blocks, bytes consumed, bytes skipped as damaged)."""
    blocks = []
    pos, skipped, end = 0, 0, len(data)
    while pos + HEADER.size <= end:
        magic, key_len, count = HEADER.unpack_from(data, pos)
        if magic != MAGIC:
            found = data.find(MAGIC, pos + 1)  # damaged: resynchronise on the next block
            nxt = found if found >= 0 else end
            skipped += nxt - pos
            pos = nxt
            continue
        size = HEADER.size + key_len + 24 * count
        if pos + size > end:
            break  # the rest of this block is still being written
        start = pos + HEADER.size
        key = data[start : start + key_len].decode(errors="replace")
        body = start + key_len
        steps, values, times = array("q"), array("d"), array("d")
        steps.frombytes(data[body : body + 8 * count])
        values.frombytes(data[body + 8 * count : body + 16 * count])
        times.frombytes(data[body + 16 * count : body + 24 * count])
        blocks.append((key, steps.tolist(), values.tolist(), times.tolist()))
        pos += size
    return blocks, pos, skipped

"""Reading a run's log files: by byte offset, or the last N lines; cut on UTF-8 boundaries."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

STREAMS = {"output": "output.log", "stdout": "stdout.log", "stderr": "stderr.log"}
MAX_READ = 1 << 20  # one reply carries at most 1 MiB; clients page on with next_offset
TAIL_BLOCK = 64 * 1024  # read_tail reads backwards this much at a time


def utf8_cut(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that does not end inside a UTF-8 character."""
    end = len(data)
    for back in range(1, min(4, end) + 1):
        byte = data[end - back]
        if byte & 0b1100_0000 == 0b1000_0000:  # continuation byte: keep looking for the lead
            continue
        if byte & 0b1000_0000 == 0:  # ASCII
            return end
        need = 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4 if byte >> 3 == 0b11110 else 1
        return end if back >= need else end - back
    return end


@dataclass
class LogChunk:
    content: str
    offset: int
    next_offset: int
    size: int


def log_path(run_dir: Path, stream: str) -> Path:
    return run_dir / STREAMS[stream]


def read_from(path: Path, offset: int, limit: int = MAX_READ) -> LogChunk:
    """Bytes from ``offset`` on (at most ``limit``), decoded; ``next_offset`` resumes exactly after."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return LogChunk("", offset, offset, 0)
    if offset >= size:
        return LogChunk("", offset, offset, size)
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(min(limit, size - offset))
    cut = utf8_cut(data)
    if cut == 0 and data:  # a lone broken byte sequence: pass it on rather than stall forever
        cut = len(data)
    return LogChunk(data[:cut].decode("utf-8", errors="replace"), offset, offset + cut, size)


def read_tail(path: Path, lines: int, max_bytes: int = MAX_READ) -> LogChunk:
    """The last ``lines`` lines of the file (a trailing partial line counts as one), and at most
    ``max_bytes`` of them: like every reply, a tail carries at most 1 MiB.

    The file is read backwards a block at a time, each block's newlines counted once, and never further
    back than ``max_bytes``: the work is bounded whatever the log's size and line lengths. When the
    lines asked for are longer than that, the reply starts inside a line, at a character boundary, and
    ``offset`` says where.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return LogChunk("", 0, 0, 0)
    if lines <= 0 or size == 0:
        return LogChunk("", size, size, size)
    blocks: list[bytes] = []
    newlines, position = 0, size
    with open(path, "rb") as fh:
        while position > 0 and size - position < max_bytes and newlines <= lines:
            step = min(TAIL_BLOCK, position, max_bytes - (size - position))
            position -= step
            fh.seek(position)
            block = fh.read(step)
            blocks.append(block)
            newlines += block.count(b"\n")
    data = b"".join(reversed(blocks))
    trailing = data.endswith(b"\n")
    parts = (data[:-1] if trailing else data).split(b"\n")
    keep = b"\n".join(parts[-lines:]) + (b"\n" if trailing else b"")
    start = size - len(keep)
    if start == position and position > 0:  # cut at the byte cap, inside a line: begin on a character
        skip = 0
        while skip < min(3, len(keep)) and keep[skip] & 0b1100_0000 == 0b1000_0000:
            skip += 1
        keep, start = keep[skip:], start + skip
    return LogChunk(keep.decode("utf-8", errors="replace"), start, size, size)


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def failure_message(run_dir: Path, exit_code: int | None) -> str:
    """Why a run failed, in one line, for every dialect's status ``message``: the signal that killed the
    job, else the last line it wrote to stderr (a Python traceback ends with the exception's type and
    text), else its exit code. Never empty."""
    if exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return f"killed by {name} (signal {-exit_code})"
    stderr = run_dir / STREAMS["stderr"]
    # an executor that only has the combined stream (a Ray job's driver log) writes no stderr.log
    tail = read_tail(stderr if file_size(stderr) else run_dir / STREAMS["output"], 5).content
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    if lines:
        return lines[-1][:500]
    return f"exited with code {exit_code}" if exit_code is not None else "ended without an exit code"


SEARCH_BUDGET = 256 << 20  # bytes one search request scans at most; the reply says where to go on
SEARCH_CHUNK = 1 << 20
MAX_LINE_SHOWN = 2000  # characters of a matching line in a reply


@dataclass
class SearchResult:
    matches: list[tuple[int, str]]  # (byte offset of the line, the line)
    next_offset: int  # where a further search goes on (== size: the whole log was searched)
    size: int


def search(
    path: Path, needle: str, offset: int = 0, max_matches: int = 100, ignore_case: bool = True
) -> SearchResult:
    """Lines of the log holding ``needle``, from ``offset`` on: read a block at a time (memory stays at a
    few MiB whatever the log's size), at most ``SEARCH_BUDGET`` bytes per call."""
    size = file_size(path)
    key = needle.encode()
    key = key.lower() if ignore_case else key
    if not key or offset >= size:
        return SearchResult([], min(offset, size), size)
    matches: list[tuple[int, str]] = []
    end = min(size, offset + SEARCH_BUDGET)
    start, data = offset, b""  # the file offset of data[0]
    with open(path, "rb") as fh:
        fh.seek(offset)
        while True:
            block = fh.read(min(SEARCH_CHUNK, max(0, end - start - len(data))))
            data += block
            last = not block or start + len(data) >= end
            cut = len(data) if last else data.rfind(b"\n") + 1
            if cut == 0:  # no line end yet: read on, unless the line is already longer than a block
                if len(data) < SEARCH_CHUNK:
                    continue
                cut = len(data)
            region = data[:cut]
            hay = region.lower() if ignore_case else region
            hit = hay.find(key)
            while hit >= 0:
                line_start = region.rfind(b"\n", 0, hit) + 1
                line_end = region.find(b"\n", hit)
                line_end = len(region) if line_end < 0 else line_end
                text = region[line_start:line_end][:MAX_LINE_SHOWN].decode("utf-8", errors="replace")
                matches.append((start + line_start, text))
                if len(matches) >= max_matches:
                    return SearchResult(matches, min(size, start + line_end + 1), size)
                hit = hay.find(key, line_end + 1)
            start += cut
            data = data[cut:]
            if last:
                return SearchResult(matches, start, size)

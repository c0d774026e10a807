"""A log of 1 GB is tailed, read by offset and searched without loading it whole (memory measured with
tracemalloc in the server's own process), and search pages through it with next_offset."""

from __future__ import annotations

import tracemalloc

import pytest
from test_runner import shell_task

from jupyter_trio.runner.logs import SEARCH_BUDGET, search

pytestmark = pytest.mark.slow

GIB = 1 << 30


BLOCK_LINES = 100_000  # 10 MB: one line says NEEDLE, the others do not


def write_big_log(path, size: int) -> int:
    """Blocks of 100-byte lines up to ``size`` bytes, the first line of each block saying NEEDLE; returns
    the number of lines."""
    line = b"line %09d " + b"." * 84 + b"\n"
    block = b"".join(
        (b"line %09d NEEDLE here" % i).ljust(99, b".") + b"\n" if i == 0 else line % i
        for i in range(BLOCK_LINES)
    )
    blocks = size // len(block)
    with open(path, "wb") as fh:
        for _ in range(blocks):
            fh.write(block)
    return blocks * BLOCK_LINES


async def test_a_gigabyte_log_is_tailed_and_searched_in_bounded_memory(api, wait_task, trio_workspace):
    name = await shell_task(api, "echo small")
    task = await wait_task(name, "completed")
    log = trio_workspace / "tasks" / task["id"] / "runs" / "1" / "output.log"
    lines = write_big_log(log, GIB)

    tracemalloc.start()
    try:
        status, tail = await api("GET", f"trio/api/tasks/{name}/logs", params={"tail": 5})
        assert status == 200 and tail["content"].splitlines()[-1].startswith(f"line {BLOCK_LINES - 1:09d}")
        status, middle = await api(
            "GET", f"trio/api/tasks/{name}/logs", params={"offset": GIB // 2, "limit": 200}
        )
        assert status == 200 and middle["size"] == lines * 100 and len(middle["content"]) == 200

        found, offset, calls = [], 0, 0
        while True:
            status, page = await api(
                "GET", f"trio/api/tasks/{name}/logs/search", params={"q": "needle", "offset": offset}
            )
            assert status == 200, page
            found += page["matches"]
            calls += 1
            if page["next_offset"] >= page["size"]:
                break
            assert page["next_offset"] > offset
            offset = page["next_offset"]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [m["offset"] for m in found] == [i * 100 for i in range(0, lines, BLOCK_LINES)]
    assert all("NEEDLE here" in m["line"] for m in found)
    assert calls >= GIB // SEARCH_BUDGET  # paged: no call scanned more than its budget
    assert peak < 64 << 20, f"peak {peak / 2**20:.0f} MiB while reading a {GIB >> 20} MiB log"


def test_search_pages_by_match_count_and_finds_lines_across_block_ends(tmp_path):
    path = tmp_path / "log"
    lines = [b"%06d %s\n" % (i, b"hit" if i % 7 == 0 else b"miss" * 50) for i in range(100_000)]
    path.write_bytes(b"".join(lines))
    wanted, offset = [], 0
    for i, line in enumerate(lines):
        if i % 7 == 0:
            wanted.append((offset, f"{i:06d} hit"))
        offset += len(line)
    got, offset = [], 0
    offset = 0
    while offset < path.stat().st_size:
        result = search(path, "HIT", offset, max_matches=1000)
        got += result.matches
        offset = result.next_offset
    assert got == wanted
    assert search(path, "nothing like it").matches == []

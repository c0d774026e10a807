"""Issue 33, finding 6b: ``?tail=100000`` on a big log with few newlines reads a bounded amount (at most
1 MiB, as every log reply), in linear time, and cuts on a character boundary."""

from __future__ import annotations

import builtins

from jupyter_trio.runner import logs
from jupyter_trio.runner.logs import MAX_READ, read_tail


class CountingFile:
    """A file whose reads are counted (what read_tail costs, whatever the machine's speed)."""

    def __init__(self, fh, counter: list[int]):
        self.fh, self.counter = fh, counter

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.counter[0] += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def test_a_tail_of_long_lines_reads_at_most_one_reply(tmp_path, monkeypatch):
    log = tmp_path / "output.log"
    line = "é".encode() * (1 << 20) + b"\n"  # 2 MiB lines: 8 newlines in 16 MiB
    with open(log, "wb") as fh:
        fh.write(b"x")  # every character boundary now falls on an odd offset
        for _ in range(8):
            fh.write(line)
    size = log.stat().st_size
    read = [0]

    def counting_open(*args, **kwargs):
        return CountingFile(builtins.open(*args, **kwargs), read)

    monkeypatch.setattr(logs, "open", counting_open, raising=False)
    chunk = read_tail(log, 100_000)
    monkeypatch.undo()
    assert len(chunk.content.encode()) <= MAX_READ, len(chunk.content)
    assert chunk.next_offset == chunk.size == size and chunk.offset == size - len(chunk.content.encode())
    assert "\ufffd" not in chunk.content and set(chunk.content) == {"é", "\n"}
    assert read[0] <= MAX_READ, read[0]  # before: the whole 16 MiB (and 55 s on a 64 MiB log)
    # short logs keep the exact last lines, whatever the block size
    small = tmp_path / "small.log"
    small.write_bytes(b"".join(b"line %d\n" % i for i in range(50_000)))
    tail = read_tail(small, 3)
    assert tail.content == "line 49997\nline 49998\nline 49999\n"
    assert tail.offset == small.stat().st_size - len(tail.content)

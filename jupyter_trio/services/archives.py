"""Time-limited signed archive links, and the ``.tar.gz`` stream they serve.

A link names what it serves (``checkpoints/<run>/<id>`` or ``weights/<id>``) and an expiry, signed with
HMAC-SHA256 under a server secret; a changed byte or a past expiry is refused. The secret is kept in the
workspace's private folder (``.trio/archive.key``, mode 0600: ``store/secrets.py``) so links stay valid
across a server restart until they expire.
Links still sit behind jupyter_server auth like every route: the signature limits them in time and to one
folder, it does not replace the token.

The archive is written by ``tarfile`` in a worker thread into a small bounded queue that the handler
drains: memory stays at a few chunks whatever the checkpoint's size, and a slow client slows the writer.
Neither side can wait forever: the writer's end-of-stream mark (after a failure too) waits for room only
while the download is wanted, and the reader stops waiting once the writer thread has ended.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import queue
import tarfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

from ..errors import Forbidden

CHUNK = 256 * 1024
_DONE = object()


class ArchiveSigner:
    def __init__(self, secret: bytes, ttl_s: float):
        self.secret = secret
        self.ttl_s = ttl_s

    def _mac(self, target: str, expires: int) -> str:
        return hmac.new(self.secret, f"{target}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def sign(self, target: str, now: float | None = None) -> tuple[str, int]:
        """``target`` → (query string, expiry as Unix seconds)."""
        expires = int((now or time.time()) + self.ttl_s)
        return f"expires={expires}&signature={self._mac(target, expires)}", expires

    def verify(self, target: str, expires: str | None, signature: str | None) -> None:
        try:
            when = int(expires or "")
        except ValueError:
            raise Forbidden("archive link is missing its expiry or it is malformed") from None
        if not signature or not hmac.compare_digest(self._mac(target, when), signature):
            raise Forbidden("archive link signature does not match (the link was altered)")
        if when < time.time():
            raise Forbidden("archive link has expired; ask for a new one")


class _QueueWriter:
    """A write-only file for tarfile that hands fixed-size chunks to a bounded queue."""

    def __init__(self, out: queue.Queue, cancelled: threading.Event):
        self.out, self.cancelled, self.buf = out, cancelled, bytearray()

    def write(self, data: bytes) -> int:
        self.buf += data
        while len(self.buf) >= CHUNK:
            self._put(bytes(self.buf[:CHUNK]))
            del self.buf[:CHUNK]
        return len(data)

    def _put(self, item: object) -> None:
        while True:
            if self.cancelled.is_set():
                raise BrokenPipeError("archive download was abandoned")
            try:
                self.out.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def close_stream(self) -> None:
        if self.buf:
            self._put(bytes(self.buf))
        self._put(_DONE)

    def abort(self) -> None:
        """After a failure: the end mark, waiting for room as chunks do (a full queue drops nothing)."""
        try:
            self._put(_DONE)
        except BrokenPipeError:  # the reader is gone: nobody waits for the mark
            pass


def _next_chunk(chunks: queue.Queue, producer: threading.Thread) -> object:
    """The next chunk, or ``_DONE`` once the producer thread has ended without one: never blocks for good."""
    while True:
        try:
            return chunks.get(timeout=0.5)
        except queue.Empty:
            if not producer.is_alive():
                try:
                    return chunks.get_nowait()
                except queue.Empty:
                    return _DONE


async def stream_tar_gz(folder: Path, arcname: str) -> AsyncIterator[bytes]:
    """Yield ``folder`` as a gzip-compressed tar, its members under ``arcname/``."""
    chunks: queue.Queue = queue.Queue(maxsize=4)
    cancelled = threading.Event()
    failure: list[BaseException] = []

    def produce() -> None:
        writer = _QueueWriter(chunks, cancelled)
        try:
            with tarfile.open(fileobj=writer, mode="w|gz") as tar:  # type: ignore[call-overload]
                tar.add(str(folder), arcname=arcname)
            writer.close_stream()
        except BaseException as exc:  # handed to the reader, which raises it
            failure.append(exc)
            writer.abort()

    thread = threading.Thread(target=produce, name="trio-archive", daemon=True)
    thread.start()
    loop = asyncio.get_running_loop()
    try:
        while True:
            item = await loop.run_in_executor(None, _next_chunk, chunks, thread)
            if item is _DONE:
                break
            yield item  # type: ignore[misc]
        if failure and not isinstance(failure[0], BrokenPipeError):
            raise failure[0]
    finally:
        cancelled.set()

"""Time-limited signed archive links, and the ``.tar.gz`` stream they serve.

A link names what it serves (``checkpoints/<run>/<id>`` or ``weights/<id>``) and an expiry, signed with
HMAC-SHA256 under a server secret; a changed byte or a past expiry is refused. The secret is kept in the
workspace (``archive.key``, mode 0600) so links stay valid across a server restart until they expire.
Links still sit behind jupyter_server auth like every route: the signature limits them in time and to one
folder, it does not replace the token.

The archive is written by ``tarfile`` in a worker thread into a small bounded queue that the handler
drains: memory stays at a few chunks whatever the checkpoint's size, and a slow client slows the writer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import queue
import secrets
import tarfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

from ..errors import Forbidden

CHUNK = 256 * 1024
_DONE = object()


def load_secret(path: Path) -> bytes:
    """The workspace's archive key, made once (0600) by whichever server gets there first."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    for _ in range(50):  # another server may have created it a moment ago and not written it yet
        key = path.read_text().strip()
        if key:
            return key.encode()
        time.sleep(0.02)
    raise RuntimeError(f"archive key {path} is empty; delete it to make a new one")


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
            try:
                chunks.put_nowait(_DONE)
            except queue.Full:
                pass

    thread = threading.Thread(target=produce, name="trio-archive", daemon=True)
    thread.start()
    loop = asyncio.get_running_loop()
    try:
        while True:
            item = await loop.run_in_executor(None, chunks.get)
            if item is _DONE:
                break
            yield item  # type: ignore[misc]
        if failure and not isinstance(failure[0], BrokenPipeError):
            raise failure[0]
    finally:
        cancelled.set()

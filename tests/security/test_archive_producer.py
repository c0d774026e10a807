"""Issue 33, finding 6a: an archive whose producer fails while the chunk queue is full must end the download
with the producer's error, not leave a worker thread waiting on the queue forever."""

from __future__ import annotations

import asyncio
import queue
import threading

from jupyter_trio.services import archives


async def test_a_producer_failing_on_a_full_queue_ends_the_download(tmp_path, monkeypatch):
    failed = threading.Event()
    queues: list[queue.Queue] = []

    class RecordedQueue(queue.Queue):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            queues.append(self)

    class FailingTar:
        """Writes five chunks (the reader takes one, four fill the queue), then fails like a bad disk."""

        def __init__(self, fileobj):
            self.fileobj = fileobj

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def add(self, *args, **kwargs):
            for _ in range(5):
                self.fileobj.write(b"x" * archives.CHUNK)
            failed.set()
            raise OSError("the disk went away")

    monkeypatch.setattr(archives.queue, "Queue", RecordedQueue)
    monkeypatch.setattr(archives.tarfile, "open", lambda fileobj, mode: FailingTar(fileobj))
    chunks = archives.stream_tar_gz(tmp_path, "run")
    received = [await asyncio.wait_for(chunks.__anext__(), 5)]
    try:
        assert await asyncio.to_thread(failed.wait, 5)
        await asyncio.sleep(0.3)  # the producer has failed with the queue full

        async def rest() -> None:
            async for chunk in chunks:
                received.append(chunk)

        try:
            await asyncio.wait_for(rest(), 10)
        except OSError as exc:
            assert "the disk went away" in str(exc)
        else:
            raise AssertionError("the download ended as if complete")
        assert len(received) == 5
    finally:
        for q in queues:  # on a broken build: free the worker thread that waits on the queue
            while not q.empty():
                q.get_nowait()
            q.put_nowait(archives._DONE)
        await chunks.aclose()

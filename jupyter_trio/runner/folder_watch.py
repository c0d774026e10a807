"""Change notifications for run folders, so log followers wait on the kernel instead of polling.

One inotify descriptor per server (Linux, through libc with ctypes), read by the IOLoop. A follower
subscribes to its run folder and is woken when any file in it is written, created or renamed into place;
where inotify is missing (another OS, the watch limit reached, a folder not made yet) ``subscribe``
returns ``None`` and the follower polls as before. Ten followers of busy logs polled every millisecond
cost the server a fifth of a core (bench/load_bench.py); woken by the kernel they cost what they send.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import struct
from pathlib import Path

log = logging.getLogger(__name__)

IN_MODIFY, IN_CLOSE_WRITE, IN_MOVED_TO, IN_CREATE = 0x2, 0x8, 0x80, 0x100
IN_IGNORED = 0x8000  # the folder went away: its watch is gone
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
MASK = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


class Subscription:
    """A follower's view of one folder: ``wait`` returns once something in it changed (or on timeout)."""

    def __init__(self, watcher: FolderWatcher, wd: int):
        self._watcher, self.wd = watcher, wd
        self.changed = asyncio.Event()

    def clear(self) -> None:
        """Call before reading the files: a change after this wakes the next ``wait`` at once."""
        self.changed.clear()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.changed.wait(), timeout)
        except TimeoutError:
            pass

    def close(self) -> None:
        self._watcher._unsubscribe(self)


class FolderWatcher:
    """Watches folders for the IOLoop it is made on; ``close`` releases the descriptor."""

    def __init__(self) -> None:
        self._fd = -1
        self._libc = None
        self._subs: dict[int, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        except (OSError, AttributeError):
            return
        if fd < 0:
            log.info("no inotify (%s): log followers poll", os.strerror(ctypes.get_errno()))
            return
        self._libc, self._fd = libc, fd

    @property
    def available(self) -> bool:
        return self._fd >= 0

    def subscribe(self, folder: Path) -> Subscription | None:
        """Be told of changes in ``folder``; ``None`` when that cannot be had (poll instead)."""
        if self._fd < 0 or self._libc is None:
            return None
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self._fd, self._read)
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(folder), MASK)
        if wd < 0:  # no such folder yet, or the per-user watch limit
            return None
        sub = Subscription(self, wd)
        self._subs.setdefault(wd, set()).add(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.wd)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self._subs[sub.wd]
            if self._fd >= 0 and self._libc is not None:
                self._libc.inotify_rm_watch(self._fd, sub.wd)  # one watch per folder, shared

    def _read(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        offset = 0
        woken: set[int] = set()
        while offset + EVENT.size <= len(data):
            wd, mask, _, length = EVENT.unpack_from(data, offset)
            offset += EVENT.size + length
            woken.add(wd)
            if mask & IN_IGNORED:  # the kernel dropped the watch: its followers fall back to timeouts
                for sub in self._subs.pop(wd, ()):
                    sub.changed.set()
        for wd in woken:
            for sub in self._subs.get(wd, ()):
                sub.changed.set()

    def close(self) -> None:
        if self._fd < 0:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
        os.close(self._fd)
        self._fd = -1
        for subs in self._subs.values():
            for sub in subs:
                sub.changed.set()
        self._subs.clear()

"""A run's system metrics, sampled by its supervisor (runs in: job supervisor; the standard library only).

Every ``interval`` seconds the shim's ``SystemSampler`` walks its process tree (``/proc/<pid>/task/<tid>/
children``, no scan of every process) and records, as series of the run:

- ``sys/cpu``: CPU use of the whole tree, in % of one core;
- ``sys/rss``: resident memory of the tree, MiB;
- ``sys/io_read``, ``sys/io_write``: bytes read from and written to storage per second, MiB/s;
- ``sys/gpu<N>_util`` and ``sys/gpu<N>_mem`` for each GPU N the run holds: the device's utilisation (%) and
  the memory (MiB) the tree's processes use on it, from NVML through ctypes where a driver is present.

Points go into ``metrics/sys-<pid>.trk`` of the run folder in the tracking format (``_trackfile.py``,
loaded from its file: this process does not import the package), so the metrics routes, the charts and the
run table show them as any tracked series, during and after the run. The step is the second since the job
started. A sample costs a few /proc reads per process of the tree; ``tests/test_system_metrics.py`` measures
the sampler's CPU.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MIB = 1 << 20
FLUSH_EVERY_S = 5.0
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _load_trackfile():
    """The tracking format, from its file beside the package (stdlib only: struct and array)."""
    path = Path(__file__).resolve().parents[1] / "_trackfile.py"
    spec = importlib.util.spec_from_file_location("_trio_trackfile", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tree(root: int) -> list[int]:
    """``root`` and every process below it, from the kernel's children lists."""
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        found.append(pid)
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    frontier += [int(c) for c in fh.read().split()]
            except (OSError, ValueError):
                pass
    return found


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as fh:
        stat = fh.read()
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE


def _io_bytes(pid: int) -> tuple[int, int]:
    read = write = 0
    with open(f"/proc/{pid}/io") as fh:
        for line in fh:
            if line.startswith("read_bytes:"):
                read = int(line.split()[1])
            elif line.startswith("write_bytes:"):
                write = int(line.split()[1])
    return read, write


class _Memory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


class _Utilization(ctypes.Structure):
    _fields_ = [("gpu", ctypes.c_uint), ("memory", ctypes.c_uint)]


class _ProcessInfo(ctypes.Structure):  # nvmlProcessInfo_t (v2/v3: pid, usedGpuMemory, instance ids)
    _fields_ = [
        ("pid", ctypes.c_uint),
        ("usedGpuMemory", ctypes.c_ulonglong),
        ("gpuInstanceId", ctypes.c_uint),
        ("computeInstanceId", ctypes.c_uint),
    ]


class NvmlReader:
    """The GPUs' utilisation and the tree's memory on them, through libnvidia-ml (ctypes); ``None`` from
    ``open`` where there is no driver."""

    def __init__(self, lib: ctypes.CDLL, indices: list[int]):
        self.lib = lib
        self.handles = {}
        for index in indices:
            handle = ctypes.c_void_p()
            if lib.nvmlDeviceGetHandleByIndex_v2(index, ctypes.byref(handle)) == 0:
                self.handles[index] = handle

    @classmethod
    def open(cls, indices: list[int]) -> NvmlReader | None:
        if not indices:
            return None
        import ctypes.util  # 5 ms: only a run that holds GPUs pays it

        name = ctypes.util.find_library("nvidia-ml") or "libnvidia-ml.so.1"
        try:
            lib = ctypes.CDLL(name)
            if lib.nvmlInit_v2() != 0:
                return None
        except (OSError, AttributeError):
            return None
        reader = cls(lib, indices)
        return reader if reader.handles else None

    def read(self, pids: set[int]) -> dict[int, tuple[float, float]]:
        """GPU index -> (utilisation %, MiB used by ``pids``)."""
        out = {}
        for index, handle in self.handles.items():
            util = _Utilization()
            busy = (
                float(util.gpu)
                if self.lib.nvmlDeviceGetUtilizationRates(handle, ctypes.byref(util)) == 0
                else -1.0
            )
            count = ctypes.c_uint(64)
            infos = (_ProcessInfo * 64)()
            used = 0.0
            call = (
                getattr(self.lib, "nvmlDeviceGetComputeRunningProcesses_v3", None)
                or self.lib.nvmlDeviceGetComputeRunningProcesses_v2
            )
            if call(handle, ctypes.byref(count), infos) == 0:
                used = sum(infos[i].usedGpuMemory for i in range(count.value) if infos[i].pid in pids) / MIB
            out[index] = (busy, used)
        return out

    def close(self) -> None:
        try:
            self.lib.nvmlShutdown()
        except (OSError, AttributeError):
            pass


class SystemSampler:
    """Samples ``root``'s process tree every ``interval`` seconds into ``<run_dir>/metrics/sys-<pid>.trk``
    until ``stop``; ``gpus`` are the NVML indices the run holds, ``gpu_reader`` (tests) replaces NVML."""

    def __init__(
        self,
        run_dir: Path,
        root: int,
        interval: float = 1.0,
        gpus: list[int] | None = None,
        gpu_reader: Any = None,
        sink: Callable[[bytes], object] | None = None,
        since: float | None = None,
    ):
        """``since``: when the job started (``time.monotonic()``), for a sampler started after it: every
        process of the tree is counted from zero (all of them were born since), so the first sample covers
        the time from the job's start and nothing is lost to a late start."""
        self.path = run_dir / "metrics" / f"sys-{os.getpid()}.trk"
        self.root, self.interval = root, interval
        self.gpus = gpus or []
        self.gpu_reader = gpu_reader  # NvmlReader (opened on start), or a test's stand-in
        self.sink = sink  # where blocks go instead of the file (a Ray node without the shared folder)
        self.trackfile = _load_trackfile()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trio-sysmetrics", daemon=True)
        self._pending: dict[str, tuple[list[int], list[float], list[float]]] = {}
        self._ticks: dict[int, int] = {}  # pid -> CPU ticks at the last sample
        self._io: dict[int, tuple[int, int]] = {}
        self._from_zero = since is not None
        self._started = since if since is not None else time.monotonic()
        self._last = self._started

    def start(self) -> SystemSampler:
        if self.gpu_reader is None and self.gpus:
            self.gpu_reader = NvmlReader.open(self.gpus)
        self.sample()  # the baseline for the first deltas (or, counted from zero, the first point)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.flush()
        if isinstance(self.gpu_reader, NvmlReader):
            self.gpu_reader.close()

    def _loop(self) -> None:
        last_flush = time.monotonic()
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # a sample that failed is skipped; the job goes on
                continue
            if time.monotonic() - last_flush >= FLUSH_EVERY_S:
                self.flush()
                last_flush = time.monotonic()

    def sample(self) -> None:
        now = time.monotonic()
        elapsed = now - self._last
        ticks: dict[int, int] = {}
        io: dict[int, tuple[int, int]] = {}
        rss = 0
        pids = tree(self.root)
        for pid in pids:
            try:
                ticks[pid] = _cpu_ticks(pid)
                rss += _rss_bytes(pid)
            except (OSError, ValueError, IndexError):
                continue  # gone between the walk and the read
            try:
                io[pid] = _io_bytes(pid)
            except (OSError, ValueError):
                pass
        first = not self._from_zero and not self._ticks and not self._io
        # a process first seen now: from zero (born since the job started), or from now (a baseline)
        cpu = sum(t - self._ticks.get(pid, 0 if self._from_zero else t) for pid, t in ticks.items())
        zero = (0, 0)
        read = sum(
            r - self._io.get(pid, zero if self._from_zero else (r, w))[0] for pid, (r, w) in io.items()
        )
        write = sum(
            w - self._io.get(pid, zero if self._from_zero else (r, w))[1] for pid, (r, w) in io.items()
        )
        self._ticks, self._io, self._last = ticks, io, now
        if first or elapsed <= 0:
            return
        step = int(round(now - self._started))
        wall = time.time()
        self._add("sys/cpu", step, 100.0 * cpu / _TICKS / elapsed, wall)
        self._add("sys/rss", step, rss / MIB, wall)
        self._add("sys/io_read", step, max(read, 0) / MIB / elapsed, wall)
        self._add("sys/io_write", step, max(write, 0) / MIB / elapsed, wall)
        if self.gpu_reader is not None:
            for index, (util, mem) in self.gpu_reader.read(set(pids)).items():
                if util >= 0:
                    self._add(f"sys/gpu{index}_util", step, util, wall)
                self._add(f"sys/gpu{index}_mem", step, mem, wall)

    def _add(self, key: str, step: int, value: float, wall: float) -> None:
        steps, values, times = self._pending.setdefault(key, ([], [], []))
        steps.append(step)
        values.append(float(value))
        times.append(wall)

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        data = b"".join(self.trackfile.encode(k, s, v, t) for k, (s, v, t) in pending.items())
        if self.sink is not None:
            try:
                self.sink(data)
            except Exception:  # the server away: the series misses these points, the job goes on
                pass
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, data)  # one write: a reader sees whole blocks
            finally:
                os.close(fd)
        except OSError:  # a full disk: the job goes on without its system series
            pass

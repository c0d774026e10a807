"""The machine the server runs on, as pyruns's ``/system`` routes show it: the version running (and the one
installed, which differs after an upgrade until a restart), and CPU, memory, disk and GPU use now.

GPUs are the ones this server's jobs may get (the GPU source's inventory: this machine's, or the Hub
arbiter's), read with NVML on this machine; a Ray cluster's GPUs are not this machine's and are not listed.
Memory of a GPU is in MiB, as pyruns (nvidia-smi) reports it. Processes on a GPU are named only when they
are this server's OS user's: another user's show as "another user", as the GPU states of ``/health`` do.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .._version import __version__
from ..runner.gpus import GPU, gpu_processes, gpu_snapshot, os_user

DISTRIBUTION = "jupyter-trio"
INSTANCE_ID = uuid.uuid4().hex  # one per server process: a client sees a restart as a new id
MIB = 1024 * 1024
ANOTHER_USER = "another user"

psutil.cpu_percent()  # the first reading of a process is 0.0: take it now, so the first request's counts


@dataclass(frozen=True, slots=True)
class SystemInfo:
    version: str  # the version running
    installed_version: str  # the version installed now
    restart_required: bool  # installed differs from running
    instance_id: str
    python: str
    platform: str
    cpu_count: int
    update_supported: bool = False  # pyruns updates itself; a Jupyter extension is upgraded with pip/conda
    update_state: str = "unavailable"


@dataclass(frozen=True, slots=True)
class GPUProcessUse:
    pid: int
    name: str
    user: str
    memory_mb: float | None


@dataclass(frozen=True, slots=True)
class GPUUse:
    index: int
    name: str
    uuid: str
    util: float | None  # %
    mem_used: float | None  # MiB
    mem_total: float | None  # MiB
    mem_free: float | None = None  # detail
    temperature_c: float | None = None  # detail
    processes: list[GPUProcessUse] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SystemMetrics:
    cpu_percent: float
    mem_percent: float
    disk_percent: float  # of the filesystem holding the workspace
    disk_used: int  # bytes
    disk_total: int  # bytes
    gpus: list[GPUUse]


def installed_version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return __version__


def system_info() -> SystemInfo:
    installed = installed_version()
    return SystemInfo(
        version=__version__,
        installed_version=installed,
        restart_required=installed != __version__,
        instance_id=INSTANCE_ID,
        python=platform.python_version(),
        platform=f"{platform.system()} {platform.release()} {platform.machine()}".strip(),
        cpu_count=os.cpu_count() or 1,
    )


def system_metrics(
    gpus: list[GPU], workspace: Path, *, include_processes: bool = False, detail: bool = False
) -> SystemMetrics:
    """CPU (% since the previous reading), memory and workspace disk use, and each GPU's utilisation and
    memory; ``detail`` adds free memory and temperature, ``include_processes`` the processes on each GPU.
    Blocking (NVML, psutil): call it from a worker thread."""
    disk = psutil.disk_usage(str(workspace))
    return SystemMetrics(
        cpu_percent=psutil.cpu_percent(),
        mem_percent=psutil.virtual_memory().percent,
        disk_percent=disk.percent,
        disk_used=disk.used,
        disk_total=disk.total,
        gpus=_gpus(gpus, include_processes, detail),
    )


def _gpus(gpus: list[GPU], include_processes: bool, detail: bool) -> list[GPUUse]:
    indices = [gpu.index for gpu in gpus]
    readings = {row["index"]: row for row in gpu_snapshot(indices)}
    processes = _processes(indices) if include_processes else {}
    out = []
    for gpu in gpus:
        row = readings.get(gpu.index, {})
        used, total = _mib(row.get("memory_used")), _mib(row.get("memory_total") or gpu.memory_total or None)
        util = row.get("utilization")
        temperature = row.get("temperature")
        out.append(
            GPUUse(
                index=gpu.index,
                name=gpu.name,
                uuid=gpu.uuid,
                util=float(util) if util is not None else None,
                mem_used=used,
                mem_total=total,
                mem_free=total - used if detail and used is not None and total is not None else None,
                temperature_c=float(temperature) if detail and temperature is not None else None,
                processes=processes.get(gpu.index, []),
            )
        )
    return out


def _processes(indices: Iterable[int]) -> dict[int, list[GPUProcessUse]]:
    me = os_user()
    out: dict[int, list[GPUProcessUse]] = {}
    for proc in gpu_processes(list(indices)):
        mine = proc.user == me
        out.setdefault(proc.gpu, []).append(
            GPUProcessUse(
                pid=proc.pid,
                name=_process_name(proc.pid) if mine else "",
                user=proc.user if mine else ANOTHER_USER,
                memory_mb=_mib(proc.memory_used),
            )
        )
    for uses in out.values():
        uses.sort(key=lambda p: (p.memory_mb or -1.0, p.pid), reverse=True)
    return out


def _process_name(pid: int) -> str:
    try:
        return psutil.Process(pid).name()
    except psutil.Error:
        return ""


def _mib(value: int | None) -> float | None:
    return round(value / MIB, 1) if value is not None else None

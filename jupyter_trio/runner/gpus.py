"""Which GPUs this server may hand to jobs: discovered with NVML, or given by configuration."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GPU:
    index: int
    name: str = ""
    uuid: str = ""
    memory_total: int = 0  # bytes; 0 when configured by hand and NVML is unavailable

    def to_dict(self) -> dict:
        return asdict(self)


def checked_gpu_setting(value: Any) -> Any:
    """A traitlets validator's body for a GPU setting (``gpus``): the value, or TraitError saying why not."""
    from traitlets import TraitError

    try:
        parse_gpu_setting(value)
    except ValueError as exc:
        raise TraitError(str(exc)) from None
    return value


def parse_gpu_setting(value: str | list[int] | None) -> str | list[int]:
    """Normalise the ``LocalGPUs.gpus`` setting to ``"auto"``, ``"none"`` or a list of indices.

    Accepts ``"auto"``, ``"none"`` / ``""``, a comma list such as ``"0,2"``, or a list of ints.
    Raises ``ValueError`` with a readable message for anything else.
    """
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        indices = list(value)
    else:
        text = str(value).strip().lower()
        if text in ("auto",):
            return "auto"
        if text in ("", "none", "cpu"):
            return "none"
        try:
            indices = [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise ValueError(
                f"gpus must be 'auto', 'none' or a list of GPU indices like '0,1'; got {value!r}"
            ) from None
    if any((not isinstance(i, int)) or i < 0 for i in indices):
        raise ValueError(f"GPU indices must be non-negative integers; got {value!r}")
    if len(set(indices)) != len(indices):
        raise ValueError(f"GPU indices must not repeat; got {value!r}")
    return indices


@contextmanager
def nvml() -> Iterator[Any]:
    """``pynvml``, initialised for the block and shut down after it; ``None`` where there is no NVIDIA
    driver (or no nvidia-ml-py)."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as exc:  # ImportError, NVMLError_LibraryNotFound, DriverNotLoaded, ...
        log.debug("NVML unavailable: %s", exc)
        yield None
        return
    try:
        yield pynvml
    finally:
        pynvml.nvmlShutdown()


def nvml_gpus() -> list[GPU]:
    """Every GPU NVML sees, or an empty list where there is no NVIDIA driver."""
    with nvml() as pynvml:
        if pynvml is None:
            return []
        found = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            uuid = pynvml.nvmlDeviceGetUUID(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            found.append(
                GPU(
                    index=index,
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    uuid=uuid.decode() if isinstance(uuid, bytes) else str(uuid),
                    memory_total=int(memory.total),
                )
            )
        return found


def driver_version() -> str:
    """The NVIDIA driver's version, or "" where there is no driver."""
    with nvml() as pynvml:
        if pynvml is None:
            return ""
        try:
            version = pynvml.nvmlSystemGetDriverVersion()
        except Exception:  # an NVML without the call
            return ""
        return version.decode() if isinstance(version, bytes) else str(version)


def gpu_memory() -> list[dict]:
    """Free/used/total bytes per GPU, for PaddleX's ``/system`` and the health page."""
    with nvml() as pynvml:
        if pynvml is None:
            return []
        out = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            info = pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(index))
            out.append(
                {"index": index, "free": int(info.free), "used": int(info.used), "total": int(info.total)}
            )
        return out


def discover_gpus(setting: str | list[int] | None) -> list[GPU]:
    """The GPUs the runner may assign, from the normalised or raw ``LocalGPUs.gpus`` setting."""
    mode = parse_gpu_setting(setting)
    if mode == "none":
        return []
    seen = nvml_gpus()
    if mode == "auto":
        return seen
    by_index = {gpu.index: gpu for gpu in seen}
    return [by_index.get(i, GPU(index=i)) for i in mode]


def gpu_snapshot(indices: list[int]) -> list[dict]:
    """Utilisation (%), memory used/total (bytes) and temperature (°C) of each GPU in ``indices``, read
    with NVML now; an empty list where NVML is unavailable. A reading NVML cannot give is ``None``."""
    if not indices:
        return []
    with nvml() as pynvml:
        if pynvml is None:
            return []
        out = []
        for index in indices:
            row: dict = {"index": index, "utilization": None, "memory_used": None, "memory_total": None}
            row["temperature"] = None
            try:
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
                row.update(memory_used=int(memory.used), memory_total=int(memory.total))
                row["utilization"] = int(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
                row["temperature"] = int(pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU))
            except Exception as exc:  # a GPU that fell off the bus, or a reading this model lacks
                log.debug("NVML reading of GPU %s failed: %s", index, exc)
            out.append(row)
        return out


# ---- who uses the GPUs: leases are advisory (a process can open any GPU its OS user may open; only
# containers or device permissions enforce them), so uses of a GPU by someone it was not given are shown


@dataclass(frozen=True)
class GPUProcess:
    """A compute process NVML lists on a GPU, with its OS user and process group (``None``: unknown)."""

    gpu: int
    pid: int
    user: str = ""
    pgid: int | None = None
    memory_used: int | None = None  # bytes of that GPU's memory, where NVML says

    def to_dict(self) -> dict:
        return {"pid": self.pid, "user": self.user, "memory_used": self.memory_used}


@dataclass(frozen=True)
class Grant:
    """Who was given a GPU: an OS user, narrowed to one job's process group when ``pgid`` is set."""

    user: str
    pgid: int | None = None

    def covers(self, process: GPUProcess) -> bool:
        return process.user == self.user and (self.pgid is None or process.pgid == self.pgid)


def unleased_uses(processes: Iterable[GPUProcess], grants: Mapping[int, Iterable[Grant]]) -> list[GPUProcess]:
    """The processes using a GPU that no grant on that GPU covers (a free GPU has none: every process
    on it is an unleased use)."""
    given = {gpu: list(g) for gpu, g in grants.items()}
    return [p for p in processes if not any(g.covers(p) for g in given.get(p.gpu, ()))]


def unleased_seen_by_server(
    processes: Iterable[GPUProcess], jobs: Mapping[int, Iterable[int | None]], me: str
) -> list[GPUProcess]:
    """What a user's server shows: processes using a GPU that none of its running jobs was given.

    ``jobs`` maps each GPU this server's running jobs hold to those jobs' process groups (``None``: not
    known, any process of ``me`` counts as the job's). Reported: another user's process on one of these
    GPUs, and a process of ``me`` (a notebook kernel, a stray job) on a GPU outside its jobs' grants.
    Other users' processes on GPUs this server does not hold are not its business (the arbiter reports
    those).
    """
    grants = {gpu: [Grant(me, pgid) for pgid in pgids] for gpu, pgids in jobs.items()}
    return [p for p in unleased_uses(processes, grants) if p.gpu in jobs or p.user == me]


def os_user() -> str:
    """The OS user name this process runs as (what psutil reports as a process's owner)."""
    import os
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def gpu_processes(indices: Iterable[int] | None = None) -> list[GPUProcess]:
    """The compute processes NVML lists on the GPUs ``indices`` (every GPU: ``None``), each with its OS
    user and process group read with psutil (``""`` / ``None`` where the process is gone or hidden);
    an empty list where NVML is unavailable."""
    with nvml() as pynvml:
        if pynvml is None:
            return []
        wanted = range(pynvml.nvmlDeviceGetCount()) if indices is None else list(indices)
        found = []
        for index in wanted:
            try:
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                listed = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
            except Exception as exc:  # a GPU that fell off the bus, a driver without the call
                log.debug("NVML process list of GPU %s failed: %s", index, exc)
                continue
            for item in listed:
                memory = getattr(item, "usedGpuMemory", None)
                user, pgid = _owner(int(item.pid))
                found.append(
                    GPUProcess(
                        gpu=index,
                        pid=int(item.pid),
                        user=user,
                        pgid=pgid,
                        memory_used=int(memory) if isinstance(memory, int) else None,
                    )
                )
        return found


def _owner(pid: int) -> tuple[str, int | None]:
    """The OS user name and process group of ``pid``, as far as this process may see them."""
    import os

    import psutil

    try:
        user = psutil.Process(pid).username()
    except (psutil.Error, KeyError):  # gone, hidden (another PID namespace), or a uid without a name
        user = ""
    try:
        pgid: int | None = os.getpgid(pid)
    except OSError:
        pgid = None
    return user, pgid

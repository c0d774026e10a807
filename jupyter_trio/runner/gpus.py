"""Which GPUs this server may hand to jobs: discovered with NVML, or given by configuration."""

from __future__ import annotations

import logging
from collections.abc import Iterator
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


def parse_gpu_setting(value: str | list[int] | None) -> str | list[int]:
    """Normalise the ``TrioApp.gpus`` setting to ``"auto"``, ``"none"`` or a list of indices.

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
    """The GPUs the runner may assign, from the normalised or raw ``TrioApp.gpus`` setting."""
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

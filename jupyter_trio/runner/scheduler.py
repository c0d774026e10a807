"""Which queued runs may start now: priorities, GPU counts, and the CPU-job limit. Pure logic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    key: tuple[str, int]  # (task_id, run_index)
    gpus: int  # 0 = a CPU-only job


@dataclass(frozen=True)
class Placement:
    key: tuple[str, int]
    gpus: list[int]  # indices for CUDA_VISIBLE_DEVICES; [] for CPU jobs


def plan(queue: list[Request], free_gpus: list[int], total_gpus: int, cpu_slots_free: int) -> list[Placement]:
    """Place runs from ``queue`` (already in priority order) onto free resources.

    CPU-only jobs take CPU slots (``max_cpu_jobs``). GPU jobs take that many free GPUs, lowest index
    first, and never share one. A GPU job that does not fit yet holds back the GPU jobs behind it, so
    a large job is not starved by a stream of small ones; CPU jobs behind it still start. A job that
    asks for more GPUs than the machine has is left out here (the runner rejects it).
    """
    placements = []
    free = sorted(free_gpus)
    gpu_blocked = False
    for request in queue:
        if request.gpus <= 0:
            if cpu_slots_free > 0:
                placements.append(Placement(request.key, []))
                cpu_slots_free -= 1
            continue
        if request.gpus > total_gpus or gpu_blocked:
            continue
        if request.gpus <= len(free):
            taken, free = free[: request.gpus], free[request.gpus :]
            placements.append(Placement(request.key, taken))
        else:
            gpu_blocked = True
    return placements

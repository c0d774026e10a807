"""Which queued runs may start now: priorities, GPU counts, shared GPUs' memory, and the CPU-job limit.
Pure logic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    key: tuple[str, int]  # (task_id, run_index)
    gpus: int  # 0 = a CPU-only job
    memory: int = 0  # MiB of one shared GPU instead of whole GPUs (packing); ``gpus`` is then 1


@dataclass(frozen=True)
class Placement:
    key: tuple[str, int]
    gpus: list[int]  # indices for CUDA_VISIBLE_DEVICES; [] for CPU jobs


def plan(
    queue: list[Request],
    free_gpus: list[int],
    total_gpus: int,
    cpu_slots_free: int,
    capacity: dict[int, int] | None = None,
    shared: dict[int, int] | None = None,
) -> list[Placement]:
    """Place runs from ``queue`` (already in priority order) onto free resources.

    CPU-only jobs take CPU slots (``max_cpu_jobs``). GPU jobs take that many free GPUs, lowest index
    first, and never share one. A GPU job that does not fit yet holds back the GPU jobs behind it, so
    a large job is not starved by a stream of small ones; CPU jobs behind it still start. A job that
    asks for more GPUs than the machine has is left out here (the runner rejects it).

    Packing: a job that asks for ``memory`` MiB shares one GPU with other such jobs while their memory
    fits the GPU's ``capacity`` (MiB; a GPU of unknown capacity is never shared). ``shared`` is the memory
    packed jobs already hold per GPU (those GPUs are not in ``free_gpus``: no whole-GPU job goes there).
    A packed job goes to the shared GPU it fills best, else takes a free GPU, which becomes shared; one
    that fits nowhere waits without holding back the others.
    """
    placements = []
    free = sorted(free_gpus)
    capacity = capacity or {}
    used = dict(shared or {})
    gpu_blocked = False
    for request in queue:
        if request.memory > 0:
            fits = [g for g, mib in used.items() if mib + request.memory <= capacity.get(g, 0)]
            if fits:
                gpu = max(fits, key=lambda g: (used[g], -g))  # the fullest that still fits
            else:
                fresh = [g for g in free if request.memory <= capacity.get(g, 0)]
                if not fresh:
                    continue
                gpu = fresh[0]
                free.remove(gpu)
                used[gpu] = 0
            used[gpu] += request.memory
            placements.append(Placement(request.key, [gpu]))
            continue
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

"""Data-parallel training with ``paddle.distributed``: one process per assigned GPU (NCCL), or
``cpu_processes`` CPU processes (gloo), each training on its slice of every batch and averaging gradients.

The job process becomes a small launcher (:func:`launch`): it starts the ranks as
``python -m jupyter_trio.trainers.job`` with Paddle's collective environment
(``PADDLE_TRAINER_ID``, ``PADDLE_TRAINERS_NUM``, endpoints on 127.0.0.1), waits, and ends them all as
soon as one fails, so a dead rank never leaves the others blocked in a collective. Cancelling the task
signals the whole process group, ranks included.

Every rank sees the same global batch order (data.py's pure ``(seed, epoch)`` shuffle) and takes the
slice ``batch[rank::world]``; gradients are summed in one fused ``all_reduce`` and divided by the world
size, so a step matches a single-process step on the whole batch (batch-norm statistics stay per rank).
Rank 0 alone evaluates, saves checkpoints, logs and reports to ``trio.track``/``record``; the other ranks
wait for it through a marker file, not a collective, because gloo's barrier times out after a minute and
an evaluation can take longer.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SYNC_DIR = "TRIO_DP_SYNC_DIR"


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def leader(self) -> bool:
        return self.rank == 0


def current() -> World:
    """This process's place: rank and world size from Paddle's collective environment (1 process if unset)."""
    return World(
        int(os.environ.get("PADDLE_TRAINER_ID", "0") or 0),
        int(os.environ.get("PADDLE_TRAINERS_NUM", "1") or 1),
    )


def visible_gpus() -> list[str]:
    return [g for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]


def plan(cpu_processes: int) -> tuple[int, str]:
    """(processes, backend) for a training job: every assigned GPU when Paddle has CUDA, else
    ``cpu_processes`` on the CPU. (That batch_size splits over them is checked with the parameters.)"""
    gpus = visible_gpus()
    if gpus and _paddle_has_cuda():
        size, backend = len(gpus), "nccl"
    else:
        size, backend = cpu_processes, "gloo"
    return size, backend


def _paddle_has_cuda() -> bool:
    import paddle

    return paddle.device.is_compiled_with_cuda()


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def rank_env(rank: int, size: int, backend: str, ports: list[int], sync_dir: str) -> dict[str, str]:
    env = {
        "PADDLE_TRAINER_ID": str(rank),
        "PADDLE_TRAINERS_NUM": str(size),
        "PADDLE_TRAINER_ENDPOINTS": ",".join(f"127.0.0.1:{p}" for p in ports[:size]),
        "PADDLE_CURRENT_ENDPOINT": f"127.0.0.1:{ports[rank]}",
        "PADDLE_MASTER": f"127.0.0.1:{ports[size]}",
        "PADDLE_DISTRI_BACKEND": backend,
        SYNC_DIR: sync_dir,
    }
    if backend == "nccl":
        env["FLAGS_selected_gpus"] = str(rank)
    else:  # the job's CPU share, split between the ranks
        threads = int(os.environ.get("OMP_NUM_THREADS", "") or os.cpu_count() or 1)
        env["OMP_NUM_THREADS"] = str(max(1, threads // size))
    return env


@dataclass(frozen=True)
class RankFailure:
    rank: int
    code: int

    def message(self) -> str:
        how = f"was killed by signal {-self.code}" if self.code < 0 else f"exited with code {self.code}"
        return f"data-parallel rank {self.rank} {how}"


START_ATTEMPTS = 3


def launch(
    size: int, backend: str, poll_s: float = 0.2, module: str = "jupyter_trio.trainers.job"
) -> RankFailure | None:
    """Run ``size`` ranks of this job and wait for them; the first rank to fail ends the others.

    A failure before every rank has joined the process group (gloo's rendezvous on loopback can be refused
    on a busy machine) starts the ranks again on new ports, up to ``START_ATTEMPTS`` times: nothing has
    been trained yet. A failure after that is the job's."""
    for attempt in range(2, START_ATTEMPTS + 1):
        failure, joined = _run_ranks(size, backend, poll_s, module)
        if failure is None or joined:
            return failure
        print(
            f"[TRAIN] {failure.message()} before the ranks had joined; starting them again on new ports "
            f"(attempt {attempt} of {START_ATTEMPTS})",
            flush=True,
        )
    return _run_ranks(size, backend, poll_s, module)[0]


def _run_ranks(size: int, backend: str, poll_s: float, module: str) -> tuple[RankFailure | None, bool]:
    """One start of the ranks: (the first failure or None, whether every rank had joined the group)."""
    # inside the run folder when there is one: a cancel (SIGTERM to the whole group) skips our cleanup
    run_dir = os.environ.get("TRIO_RUN_DIR")
    sync_dir = str(Path(run_dir) / "data-parallel") if run_dir else tempfile.mkdtemp(prefix="trio-dp-")
    shutil.rmtree(sync_dir, ignore_errors=True)  # markers of an earlier attempt must not open gates
    Path(sync_dir).mkdir(parents=True)
    ports = _free_ports(size + 1)
    argv = [sys.executable, "-u", "-m", module]
    ranks = [
        subprocess.Popen(argv, env={**os.environ, **rank_env(r, size, backend, ports, sync_dir)})
        for r in range(size)
    ]

    def first_failure() -> RankFailure | None:
        return next(
            (RankFailure(r, p.returncode) for r, p in enumerate(ranks) if p.returncode not in (None, 0)), None
        )

    try:
        while None in [p.poll() for p in ranks] and first_failure() is None:  # poll every rank, each time
            time.sleep(poll_s)
        failure = first_failure()
        return failure, all((Path(sync_dir) / f"joined-{r}").exists() for r in range(size))
    finally:
        for p in ranks:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in ranks:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(sync_dir, ignore_errors=True)


# ---- inside a rank
def init(world: World) -> None:
    import paddle.distributed as dist

    if world.size > 1:
        dist.init_parallel_env()
        joined(world)


def joined(world: World) -> None:
    """Tell the launcher this rank is in the process group (a failure from here on is not retried)."""
    sync_dir = os.environ.get(SYNC_DIR)
    if sync_dir:
        (Path(sync_dir) / f"joined-{world.rank}").touch()


def broadcast_parameters(model, world: World) -> None:
    """Rank 0's weights and buffers everywhere (after random init, a pretrained load or a resume)."""
    import paddle.distributed as dist

    if world.size > 1:
        for tensor in [*model.parameters(), *model.buffers()]:
            dist.broadcast(tensor, src=0)


def average_gradients(params, world: World) -> None:
    """Sum every gradient across ranks in one fused all_reduce, then divide by the world size."""
    import numpy as np
    import paddle
    import paddle.distributed as dist

    grads = [p.grad for p in params if not p.stop_gradient and p.grad is not None]
    if world.size == 1 or not grads:
        return
    flat = paddle.concat([g.reshape([-1]) for g in grads])
    dist.all_reduce(flat)
    flat = flat / world.size
    offset = 0
    for g in grads:
        n = int(np.prod(g.shape))
        paddle.assign(flat[offset : offset + n].reshape(g.shape), g)
        offset += n


def check_identical_weights(model, world: World) -> float:
    """Compare the sum of the trained weights across ranks; returns the spread (max - min), 0 when the
    ranks hold identical models, and raises when it exceeds 1e-6 of the sum. (Batch-norm running
    statistics are Paddle parameters too, but per rank by design: left out.)"""
    import paddle
    import paddle.distributed as dist

    total = float(sum(float(p.astype("float64").sum()) for p in model.parameters() if not p.stop_gradient))
    if world.size == 1:
        return 0.0
    high, low = paddle.to_tensor([total], dtype="float64"), paddle.to_tensor([-total], dtype="float64")
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MAX)
    spread = float(high.numpy()[0]) + float(low.numpy()[0])
    if spread > 1e-6 * max(1.0, abs(total)):
        raise RuntimeError(f"data-parallel ranks ended with different weights (checksum spread {spread:g})")
    return spread


class EpochGate:
    """Rank 0 opens the gate of an epoch once it has evaluated and saved; the others wait for it."""

    def __init__(self, world: World):
        self.world = world
        self.dir = Path(os.environ.get(SYNC_DIR, "")) if world.size > 1 else None

    def open(self, epoch: int) -> None:
        if self.dir is not None and self.world.leader:
            (self.dir / f"epoch_{epoch}").touch()

    def wait(self, epoch: int, poll_s: float = 0.05) -> None:
        if self.dir is None or self.world.leader:
            return
        marker = self.dir / f"epoch_{epoch}"
        while not marker.exists():
            time.sleep(poll_s)

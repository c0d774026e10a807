"""GPU leases are advisory (issue 33): a process can use a GPU leased to someone else. It is detected from
NVML's compute-process list and shown — by the arbiter per GPU (and in its log), and on a user's GPU card.

No GPU here: the pure functions get real-looking NVML listings; the NVML reader itself is checked on a GPU
machine (``gpu`` marker) and returns nothing without one."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time

import pytest

from jupyter_trio.domain import Run, RunState, ScheduledRun, TaskKind
from jupyter_trio.hub.arbiter import ADMIN_SCOPE, REQUEST_SCOPE
from jupyter_trio.runner.gpu_sources import LocalGPUs
from jupyter_trio.runner.gpus import (
    GPU,
    GPUProcess,
    Grant,
    gpu_processes,
    nvml_gpus,
    os_user,
    unleased_seen_by_server,
    unleased_uses,
)
from jupyter_trio.schemas.native import GPUState
from jupyter_trio.services.event_sources import EventSources
from jupyter_trio.services.events import EventBus
from jupyter_trio.store import Store
from jupyter_trio.store.metrics import MetricsReader
from jupyter_trio.testing import arbiter_in_process, serve_arbiter

MiB = 1 << 20
# what NVML lists on a 2-GPU box: alice's job on GPU 0 (she holds its lease), bob's notebook kernel on
# GPU 0 too, carol's script on GPU 1 (nobody holds it), and a process whose owner psutil could not read
LISTING = [
    GPUProcess(gpu=0, pid=41873, user="alice", pgid=41870, memory_used=10_240 * MiB),
    GPUProcess(gpu=0, pid=52011, user="bob", pgid=52011, memory_used=2_048 * MiB),
    GPUProcess(gpu=1, pid=60544, user="carol", pgid=60500, memory_used=512 * MiB),
    GPUProcess(gpu=1, pid=61002, user="", pgid=None, memory_used=None),
]


def test_the_arbiter_view_reports_every_process_not_of_the_lease_holder():
    found = unleased_uses(LISTING, {0: [Grant("alice")]})
    assert [(p.gpu, p.pid, p.user) for p in found] == [(0, 52011, "bob"), (1, 60544, "carol"), (1, 61002, "")]
    assert unleased_uses(LISTING, {0: [Grant("alice")], 1: [Grant("carol")]})[-1].pid == 61002
    assert unleased_uses([], {0: [Grant("alice")]}) == []


def test_a_server_shows_uses_its_jobs_were_not_given():
    listing = [
        *LISTING,
        GPUProcess(gpu=0, pid=41990, user="alice", pgid=41990),  # alice's kernel on her job's GPU
        GPUProcess(gpu=1, pid=42100, user="alice", pgid=42100),  # alice's kernel on a GPU she lacks
    ]
    found = unleased_seen_by_server(listing, {0: [41870]}, me="alice")  # her job's process group: 41870
    assert [(p.gpu, p.pid) for p in found] == [(0, 52011), (0, 41990), (1, 42100)]  # not carol's on GPU 1
    # a job whose process group is not known: any process of alice's on its GPU counts as the job's
    assert [p.pid for p in unleased_seen_by_server(listing, {0: [None]}, me="alice")] == [52011, 42100]


def test_without_nvml_there_is_nothing_to_report():
    if nvml_gpus():
        pytest.skip("NVML sees a GPU here")
    assert gpu_processes() == [] and gpu_processes([0, 1]) == []


@contextlib.asynccontextmanager
async def arbiter_with(tmp_path, listing):
    tokens = {
        "tok-alice": {"name": "alice", "scopes": [REQUEST_SCOPE]},
        "tok-bob": {"name": "bob", "scopes": [REQUEST_SCOPE]},
        "tok-boss": {"name": "boss", "scopes": [ADMIN_SCOPE]},
    }
    arbiter = arbiter_in_process(tmp_path / "leases.sqlite", tokens=tokens)
    arbiter.process_reader = lambda indices: [p for p in listing if p.gpu in indices]
    async with serve_arbiter(arbiter) as http:
        yield arbiter, http


async def test_the_arbiter_lists_and_logs_processes_without_a_lease(tmp_path, caplog):
    async with arbiter_with(tmp_path, LISTING) as (arbiter, http):
        lease = await http.post("leases", json={"job": "a/1"}, headers={"Authorization": "token tok-alice"})
        assert lease.json()["gpus"] == [0]
        arbiter.log.addHandler(caplog.handler)  # the service's own logger does not propagate
        with caplog.at_level(logging.WARNING):
            arbiter.check_gpu_uses()
            arbiter.check_gpu_uses()  # a use already reported is not logged again
        warned = [r.getMessage() for r in caplog.records if "without a lease" in r.getMessage()]
        assert len(warned) == 3 and "pid 52011 of bob (leased to alice)" in warned[0]

        def unleased(reply):
            return {g["index"]: [(p["pid"], p["user"]) for p in g["unleased"]] for g in reply.json()["gpus"]}

        mine = await http.get("gpus", headers={"Authorization": "token tok-alice"})
        assert unleased(mine) == {0: [(52011, "another user")], 1: [(60544, "another user"), (61002, "")]}
        bobs = await http.get("gpus", headers={"Authorization": "token tok-bob"})
        assert unleased(bobs)[0] == [(52011, "bob")]  # his own process is named to him
        boss = await http.get("gpus", headers={"Authorization": "token tok-boss"})
        assert unleased(boss)[1] == [(60544, "carol"), (61002, "")]


def test_the_card_reading_carries_the_uses(tmp_path, monkeypatch):
    me = os_user()
    store = Store(tmp_path / "ws")
    sources = EventSources(EventBus(), store, MetricsReader(), LocalGPUs([GPU(0), GPU(1)]))
    run = Run(task_id="t1", run_index=1, status=RunState.RUNNING, queued_at=0.0, gpu_ids=(0,), pid=41870)
    running = [ScheduledRun(run=run, task_name="train", kind=TaskKind.TRAIN, gpu_count=1)]
    monkeypatch.setattr(store.tasks, "running", lambda: running)
    listing = [
        GPUProcess(gpu=0, pid=41873, user=me, pgid=41870, memory_used=10_240 * MiB),  # the job itself
        GPUProcess(gpu=1, pid=42100, user=me, pgid=42100, memory_used=900 * MiB),  # a kernel of mine
        GPUProcess(gpu=1, pid=60544, user="not-" + me, pgid=60500),  # someone else's business
    ]
    monkeypatch.setattr(
        "jupyter_trio.services.event_sources.gpu_processes",
        lambda indices: [p for p in listing if p.gpu in indices],
    )
    readings = {r["index"]: r for r in sources.read_gpus()}
    assert readings[0]["unleased"] == [] and readings[0]["task"]["name"] == "train"
    assert readings[1]["unleased"] == [{"pid": 42100, "user": me, "memory_used": 900 * MiB}]
    # the Hub arbiter's per-GPU report travels in the health reply's gpu_states
    state = GPUState(index=1, state="other", user="another user", unleased=[{"pid": 60544, "user": "x"}])
    assert state.unleased[0].pid == 60544 and GPUState(index=0, state="free").unleased == []


CUDA_HOLDER = """
import sys, time, torch
torch.zeros(1, device="cuda")
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.gpu
@pytest.mark.skipif(not nvml_gpus(), reason="no NVIDIA GPU visible to NVML")
def test_nvml_lists_a_cuda_process_with_its_user_and_process_group(tmp_path):
    pytest.importorskip("torch")
    child = subprocess.Popen(
        [sys.executable, "-c", CUDA_HOLDER],
        env={**os.environ, "CUDA_VISIBLE_DEVICES": "0"},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            seen = [p for p in gpu_processes() if p.pid == child.pid]
            if seen:
                break
            time.sleep(0.5)
        # in a container NVML may list host pids: then the owner is unknown and the pid differs
        assert seen, f"NVML lists {gpu_processes()}, not pid {child.pid}"
        assert seen[0].user == os_user() and seen[0].pgid == child.pid
        found = unleased_seen_by_server(seen, {}, me=os_user())  # no job of ours was given that GPU
        assert [p.pid for p in found] == [child.pid]
    finally:
        child.kill()
        child.wait()

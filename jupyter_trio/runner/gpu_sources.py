"""Where the runner's GPUs come from: this machine's (``LocalGPUs``), or leases from the JupyterHub GPU
arbiter shared by every user of the machine (``HubLeases``). Chosen by ``c.TrioApp.gpu_source``; each is a
``LoggingConfigurable`` with its own settings (``c.LocalGPUs.gpus``, ``c.HubLeases.service``...), built by
the server with itself as ``parent``.

A source places queued runs (``place``), and for a leased GPU hands the job's supervisor what it needs to
renew and release the lease itself (``lease_for``), so the lease lives as long as the job, not the server.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NotRequired, TypedDict

import httpx
from traitlets import Int, List, Unicode, Union, validate
from traitlets.config import LoggingConfigurable

from ..domain import ScheduledRun
from ..errors import ValidationFailed
from .executor import JobLease
from .gpus import GPU, GPUProcess, checked_gpu_setting, discover_gpus, gpu_processes
from .scheduler import Placement, Request, plan

log = logging.getLogger(__name__)

Key = tuple[str, int]
POLL_S = 0.2  # how often a runner with waiting GPU runs asks the arbiter about them (one request)
REFUSED_BACKOFF_S = 3.0  # after a refusal or a failed call
STATES_EVERY_S = 2.0  # the GPUs' yours/free/other states, for health and the events channel


class UnleasedProcess(TypedDict):
    """A process using a GPU without its lease, as the Hub arbiter saw it in NVML's list."""

    pid: int
    user: str
    memory_used: int | None


class GPUStatus(TypedDict):
    """One GPU as ``GPUSource.status`` reports it (health's ``gpu_states``, the events channel)."""

    index: int
    state: str  # yours / free / other
    user: str | None
    unleased: NotRequired[list[UnleasedProcess]]


@dataclass(frozen=True)
class HubLease:
    """A lease as the arbiter replies with it (``POST api/leases``; ``GET api/leases`` lists it without its
    secret)."""

    id: str
    state: str  # queued / granted / released / expired / revoked
    gpus: tuple[int, ...] = ()
    secret: str = ""

    @classmethod
    def from_json(cls, data: Any) -> HubLease:
        return cls(
            id=str(data["id"]),
            state=str(data["state"]),
            gpus=tuple(int(g) for g in data.get("gpus") or ()),
            secret=str(data.get("secret") or ""),
        )


@dataclass(frozen=True)
class ArbiterPolicy:
    """The arbiter's ``GET api/policy``: the GPUs it leases and its limits."""

    gpus: tuple[int, ...]
    max_gpus_per_user: int = 0  # 0: no limit
    lease_ttl: float = 30.0

    @classmethod
    def from_json(cls, data: Any) -> ArbiterPolicy:
        return cls(
            gpus=tuple(int(g) for g in data["gpus"]),
            max_gpus_per_user=int(data.get("max_gpus_per_user") or 0),
            lease_ttl=float(data.get("lease_ttl", 30.0)),
        )


@dataclass(frozen=True)
class _Wanted:
    """A lease to ask for: a run's GPU count and its task's priority."""

    gpus: int
    priority: int


def _status_of(data: Any) -> GPUStatus:
    """One GPU of the arbiter's ``GET api/gpus``, as this server reports it."""
    return GPUStatus(
        index=int(data["index"]),
        state=str(data["state"]),
        user=data.get("user"),
        unleased=[
            UnleasedProcess(
                pid=int(p["pid"]), user=str(p.get("user") or ""), memory_used=p.get("memory_used")
            )
            for p in data.get("unleased") or []  # processes on it without its lease
        ],
    )


FOREIGN_EVERY_S = 2.0  # how often LocalGPUs reads NVML's compute processes while GPU runs wait


def _use(process: GPUProcess) -> str:
    memory = f", {process.memory_used / 2**30:.1f} GiB" if process.memory_used else ""
    return f"pid {process.pid} ({process.user or 'another user'}{memory})"


class GPUSource(LoggingConfigurable):
    """The interface the runner uses; see the implementations below. Settings are traits of the subclass
    (``c.<Class>.<trait>``); the server builds it as ``source_class(parent=server_extension)``."""

    # called (from any thread) when a GPU became available for a waiting run: the runner ticks soon
    on_granted: Callable[[], None] = staticmethod(lambda: None)

    def inventory(self) -> list[GPU]:
        raise NotImplementedError

    def max_gpus(self) -> int | None:
        """The most GPUs one job may ask for here; ``None``: no bound known (a cluster that may grow)."""
        return len(self.inventory())

    def check(self, count: int, task_name: str) -> None:
        """Refuse, before queueing, a request this source can never serve (a 4xx for the user)."""
        if count > len(self.inventory()):
            raise ValidationFailed(
                f"task {task_name!r} asks for {count} GPU(s); this server has {len(self.inventory())}"
            )

    def place(
        self, queue: list[ScheduledRun], busy: set[int], cpu_slots: int, shared: dict[int, int] | None = None
    ) -> list[Placement]:
        """Which queued runs start now, on which GPUs. ``shared``: MiB that running packed jobs (a task's
        ``gpu_memory``) hold per GPU; a source that does not pack places such a job on one whole GPU."""
        raise NotImplementedError

    def capacity(self) -> dict[int, int]:
        """MiB each GPU offers tasks that share one (a task's ``gpu_memory``); empty: this source gives
        whole GPUs only."""
        return {}

    def waiting(self) -> dict[Key, str]:
        """Why queued runs cannot start yet, where the source knows (a cluster too small); shown as the
        queued run's ``message``."""
        return {}

    def lease_for(self, key: Key) -> JobLease | None:
        """What the job's supervisor renews and releases, if leased."""
        return None

    def release(self, key: Key) -> None:
        """The run ended (or was cancelled while waiting): give its GPUs back."""

    def status(self, running: list[ScheduledRun]) -> list[GPUStatus]:
        """Per GPU: ``state`` (yours / free / other) and who holds it."""
        held = {g for item in running for g in item.run.gpu_ids}
        return [
            GPUStatus(index=g.index, state="yours" if g.index in held else "free", user=None)
            for g in self.inventory()
        ]

    def close(self) -> None:
        pass


class LocalGPUs(GPUSource):
    """This machine's GPUs (NVML or configured), placed by ``scheduler.plan``."""

    gpus = Union(
        [Unicode(), List(Int())],
        default_value="auto",
        config=True,
        help="GPUs jobs may use: 'auto' (every GPU NVML sees), 'none' (CPU only), or a list of "
        "indices such as '0,1' or [0, 1].",
    )

    foreign_memory_mib = Int(
        1024,
        config=True,
        help="A GPU that no job of this server holds, but on which processes this runner did not start (a "
        "colleague's notebook, a stray job) use more than this many MiB, counts as busy: no job is placed "
        "on it, and a run waiting for it says who uses it. 0 never counts other processes (NVML's compute "
        "processes, read at most every 2 s).",
    )

    gpu_memory_mib = Int(
        0,
        config=True,
        help="MiB of memory each GPU offers tasks that share a GPU (a task's gpu_memory: packing). 0: the "
        "memory NVML reports (GPUs set by hand without NVML then take no packed tasks).",
    )

    @validate("gpus")
    def _validate_gpus(self, proposal: Any) -> Any:
        return checked_gpu_setting(proposal["value"])

    def __init__(self, inventory: list[GPU] | None = None, **kwargs: Any):
        """``inventory``: these GPUs, instead of those of the ``gpus`` setting."""
        super().__init__(**kwargs)
        self._gpus = list(inventory) if inventory is not None else discover_gpus(self.gpus)
        self._foreign: dict[int, list[GPUProcess]] = {}
        self._foreign_at = -FOREIGN_EVERY_S
        self._waiting: dict[Key, str] = {}

    def inventory(self) -> list[GPU]:
        return self._gpus

    def capacity(self) -> dict[int, int]:
        """MiB each GPU offers packed jobs: ``gpu_memory_mib`` when set, else the memory NVML reports."""
        return {g.index: self.gpu_memory_mib or g.memory_total // (1024 * 1024) for g in self._gpus}

    def foreign_uses(self, busy: set[int]) -> dict[int, list[GPUProcess]]:
        """The GPUs this server's jobs do not hold whose compute processes use more than
        ``foreign_memory_mib`` (read from NVML at most every ``FOREIGN_EVERY_S``)."""
        if not self.foreign_memory_mib or not self._gpus:
            return {}
        now = time.monotonic()
        if now - self._foreign_at >= FOREIGN_EVERY_S:
            self._foreign_at = now
            found: dict[int, list[GPUProcess]] = {}
            for process in gpu_processes([g.index for g in self._gpus]):
                found.setdefault(process.gpu, []).append(process)
            self._foreign = found
        limit = self.foreign_memory_mib * 1024 * 1024
        return {
            gpu: processes
            for gpu, processes in self._foreign.items()
            if gpu not in busy and sum(p.memory_used or 0 for p in processes) > limit
        }

    def place(
        self, queue: list[ScheduledRun], busy: set[int], cpu_slots: int, shared: dict[int, int] | None = None
    ) -> list[Placement]:
        requests = [
            Request(item.key, 1 if item.gpu_memory else item.gpu_count, item.gpu_memory) for item in queue
        ]
        foreign = self.foreign_uses(busy) if any(r.gpus for r in requests) else {}
        free = [g.index for g in self._gpus if g.index not in busy and g.index not in foreign]
        packed = {g: mib for g, mib in (shared or {}).items() if g not in foreign}
        placements = plan(requests, free, len(self._gpus), cpu_slots, self.capacity(), packed)
        placed = {p.key for p in placements}
        self._waiting = {}
        if foreign:
            uses = "; ".join(
                f"GPU {gpu}: " + ", ".join(_use(p) for p in processes)
                for gpu, processes in sorted(foreign.items())
            )
            for request in requests:
                if request.gpus and request.key not in placed:
                    self._waiting[request.key] = (
                        f"waiting for a GPU: in use outside this server's jobs ({uses})"
                    )
        return placements

    def waiting(self) -> dict[Key, str]:
        return dict(self._waiting)


class HubLeases(GPUSource):
    """GPUs leased from ``python -m jupyter_trio.hub`` (a Hub service) with this server's Hub token.

    The arbiter is found through ``TRIO_GPU_ARBITER_URL`` or the Hub's API (``/hub/api/services/trio-gpus``;
    the server token needs ``read:services!service=trio-gpus``). A worker thread makes every call: new
    requests, the waiting leases' news (one request every ``POLL_S`` seconds while any wait), releases, the
    GPUs' states; the runner only reads what it last heard, so the server's loop never waits on the arbiter.
    """

    service = Unicode(
        "trio-gpus",
        config=True,
        help="The JupyterHub service name of the GPU arbiter (python -m jupyter_trio.hub), whose URL the "
        "Hub's API gives (/hub/api/services/<service>).",
    )
    url = Unicode(
        "",
        config=True,
        help="The GPU arbiter's URL (with its prefix), instead of asking the Hub's API for the service's. "
        "Empty: $TRIO_GPU_ARBITER_URL if set, else the Hub's answer.",
    )

    def __init__(self, *, token: str | None = None, **kwargs: Any):
        """``token``: the Hub token leases are asked with (default ``$JUPYTERHUB_API_TOKEN``)."""
        super().__init__(**kwargs)
        self.token = token or os.environ.get("JUPYTERHUB_API_TOKEN", "")
        self.user = os.environ.get("JUPYTERHUB_USER", "")
        self.server = os.environ.get("JUPYTERHUB_SERVER_NAME", "")
        # every call after start-up is made by the worker thread; timeouts keep a hung arbiter from holding it
        self.http = httpx.Client(
            headers={"Authorization": f"token {self.token}"}, timeout=httpx.Timeout(3.0, connect=1.0)
        )
        self._quiet_until = 0.0  # after a failure, leave the arbiter alone for a moment
        self.base = (
            self.url or os.environ.get("TRIO_GPU_ARBITER_URL") or self._discover(self.service)
        ).rstrip("/") + "/"
        self._leases: dict[Key, HubLease] = {}
        self._wanted: dict[Key, _Wanted] = {}  # runs to ask a lease for
        self._releases: list[HubLease] = []  # leases to give back
        self._refused: dict[Key, float] = {}  # asked again only after this (monotonic)
        self._gpu_states: list[GPUStatus] | None = None
        self._states_at = 0.0
        self._inventory: list[GPU] | None = None
        self._policy: ArbiterPolicy | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._wake_worker = threading.Event()
        self._worker = threading.Thread(target=self._work, daemon=True, name="trio-gpu-leases")
        self._worker.start()

    def _discover(self, service: str) -> str:
        api = os.environ.get("JUPYTERHUB_API_URL", "").rstrip("/")
        if not api:
            raise RuntimeError(
                "gpu_source 'hub' needs JupyterHub (JUPYTERHUB_API_URL) or TRIO_GPU_ARBITER_URL"
            )
        reply = self.http.get(f"{api}/services/{service}")
        reply.raise_for_status()
        model = reply.json()
        return model["url"].rstrip("/") + model.get("prefix", f"/services/{service}/")

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, self.base + path, **kwargs)

    def policy(self) -> ArbiterPolicy:
        if self._policy is None:
            reply = self._call("GET", "api/policy")
            reply.raise_for_status()
            self._policy = ArbiterPolicy.from_json(reply.json())
        return self._policy

    def inventory(self) -> list[GPU]:
        if self._inventory is None:
            if time.monotonic() < self._quiet_until:
                return []
            try:
                self._inventory = [GPU(index=i) for i in self.policy().gpus]
            except httpx.HTTPError as exc:
                log.warning("GPU arbiter at %s unreachable: %s", self.base, exc)
                self._quiet_until = time.monotonic() + REFUSED_BACKOFF_S
                return []
        return self._inventory

    def check(self, count: int, task_name: str) -> None:
        super().check(count, task_name)
        limit = self.policy().max_gpus_per_user
        if limit and count > limit:
            raise ValidationFailed(
                f"task {task_name!r} asks for {count} GPU(s); the Hub's GPU quota is {limit} per user at once"
            )

    def job_name(self, key: Key) -> str:
        return f"{self.server or 'default'}/{key[0]}/{key[1]}"

    def place(
        self, queue: list[ScheduledRun], busy: set[int], cpu_slots: int, shared: dict[int, int] | None = None
    ) -> list[Placement]:
        """Never waits on the network: GPU runs are placed from what the worker thread last heard; runs
        without a lease yet are handed to it to ask for."""
        cpu = [Request(item.key, 0) for item in queue if item.gpu_count <= 0]
        placements = plan(cpu, [], 0, cpu_slots)
        asked = False
        with self._lock:
            for item in queue:
                if item.gpu_count <= 0:
                    continue
                key = item.key
                lease = self._leases.get(key)
                if lease is None and key not in self._wanted:
                    self._wanted[key] = _Wanted(gpus=item.gpu_count, priority=item.priority)
                    asked = True
                elif lease is not None and lease.state == "granted":
                    placements.append(Placement(key, list(lease.gpus)))
        if asked:
            self._wake_worker.set()
        return placements

    def lease_for(self, key: Key) -> JobLease | None:
        with self._lock:
            lease = self._leases.get(key)
        if lease is None:
            return None
        ttl = self._policy.lease_ttl if self._policy is not None else 30.0
        return JobLease(url=f"{self.base}api/leases/{lease.id}", secret=lease.secret, every=ttl / 3)

    def release(self, key: Key) -> None:
        with self._lock:
            lease = self._leases.pop(key, None)
            self._wanted.pop(key, None)
            if lease is not None and lease.state in ("queued", "granted"):
                self._releases.append(lease)
        self._wake_worker.set()

    def status(self, running: list[ScheduledRun]) -> list[GPUStatus]:
        states = self._gpu_states
        return states if states is not None else super().status(running)

    # ---- the worker: every call to the arbiter is made here, off the server's event loop
    def _work(self) -> None:
        while not self._closed:
            self._wake_worker.wait(POLL_S)
            self._wake_worker.clear()
            if self._closed:
                return
            try:
                if self._work_once():
                    self.on_granted()
            except httpx.HTTPError as exc:
                log.warning("GPU arbiter at %s unreachable: %s", self.base, exc)
                time.sleep(REFUSED_BACKOFF_S)
            except Exception:  # the worker must outlive any one bad answer
                log.exception("GPU lease worker failed")
                time.sleep(REFUSED_BACKOFF_S)

    def _work_once(self) -> bool:
        """One round: releases, new requests, the waiting leases' news, GPU states; True if a grant came."""
        now = time.monotonic()
        with self._lock:
            releases, self._releases = self._releases, []
            wanted = {k: w for k, w in self._wanted.items() if self._refused.get(k, 0) <= now}
        for lease in releases:
            self._call("DELETE", f"api/leases/{lease.id}", headers={"X-Trio-Lease-Secret": lease.secret})
        granted = False
        for key, want in wanted.items():
            body = {"job": self.job_name(key), "gpus": want.gpus, "priority": want.priority}
            reply = self._call("POST", "api/leases", json=body)
            if reply.status_code >= 400:
                log.warning("GPU lease for %s refused: %s", key, reply.text[:300])
                self._refused[key] = now + REFUSED_BACKOFF_S
                continue
            lease = HubLease.from_json(reply.json())
            with self._lock:
                if self._wanted.pop(key, None) is None:  # released while we asked
                    self._releases.append(lease)
                    continue
                self._leases[key] = lease
            granted = granted or lease.state == "granted"
        with self._lock:
            waiting = {lease.id: key for key, lease in self._leases.items() if lease.state == "queued"}
        if waiting:
            reply = self._call("GET", "api/leases")
            if reply.status_code == 200:
                # listed without their secrets: only the state and the GPUs are news
                fresh = {lease.id: lease for lease in map(HubLease.from_json, reply.json()["leases"])}
                with self._lock:
                    for lid, key in waiting.items():
                        if key not in self._leases:
                            continue
                        if lid not in fresh:  # ended while waiting (revoked, expired): ask again
                            self._leases.pop(key)
                        else:
                            news = fresh[lid]
                            self._leases[key] = replace(self._leases[key], state=news.state, gpus=news.gpus)
                            granted = granted or news.state == "granted"
        if granted or releases or now - self._states_at >= STATES_EVERY_S:
            self._states_at = now
            reply = self._call("GET", "api/gpus")
            if reply.status_code == 200:
                self._gpu_states = [_status_of(g) for g in reply.json()["gpus"]]
        return granted

    def close(self) -> None:
        self._closed = True
        self._wake_worker.set()
        self._worker.join(5)
        self.http.close()


BUILTIN_SOURCES: dict[str, type[GPUSource]] = {"local": LocalGPUs, "hub": HubLeases}

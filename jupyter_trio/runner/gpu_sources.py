"""Where the runner's GPUs come from: this machine's (``LocalGPUs``), or leases from the JupyterHub GPU
arbiter shared by every user of the machine (``HubLeases``). Chosen by ``c.TrioApp.gpu_source``.

A source places queued runs (``place``), and for a leased GPU hands the job's supervisor what it needs to
renew and release the lease itself (``lease_for``), so the lease lives as long as the job, not the server.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from ..errors import ValidationFailed
from .gpus import GPU, discover_gpus
from .scheduler import Placement, Request, plan

log = logging.getLogger(__name__)

Key = tuple[str, int]
POLL_S = 0.2  # how often a runner with waiting GPU runs asks the arbiter about them (one request)
REFUSED_BACKOFF_S = 3.0  # after a refusal or a failed call
STATES_EVERY_S = 2.0  # the GPUs' yours/free/other states, for health and the events channel


class GPUSource:
    """The interface the runner uses; see the two implementations below."""

    # called (from any thread) when a GPU became available for a waiting run: the runner ticks soon
    on_granted: Callable[[], None] = staticmethod(lambda: None)

    @classmethod
    def configured(cls, gpus_setting: Any) -> GPUSource:
        """Build the source from the server's settings (``c.TrioApp.gpus``)."""
        return cls()

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

    def place(self, queue: list[dict[str, Any]], busy: set[int], cpu_slots: int) -> list[Placement]:
        raise NotImplementedError

    def waiting(self) -> dict[Key, str]:
        """Why queued runs cannot start yet, where the source knows (a cluster too small); shown as the
        queued run's ``message``."""
        return {}

    def lease_for(self, key: Key) -> dict[str, Any] | None:
        """What the job's supervisor renews and releases (``url``, ``secret``, ``every``), if leased."""
        return None

    def release(self, key: Key) -> None:
        """The run ended (or was cancelled while waiting): give its GPUs back."""

    def status(self, running: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Per GPU: ``state`` (yours / free / other) and who holds it."""
        holders = {g: run for run in running for g in run["gpus"]}
        return [
            {"index": g.index, "state": "yours" if g.index in holders else "free", "user": None}
            for g in self.inventory()
        ]

    def close(self) -> None:
        pass


class LocalGPUs(GPUSource):
    """This machine's GPUs (NVML or configured), placed by ``scheduler.plan``."""

    def __init__(self, gpus: list[GPU]):
        self.gpus = gpus

    @classmethod
    def configured(cls, gpus_setting: Any) -> LocalGPUs:
        return cls(discover_gpus(gpus_setting))

    def inventory(self) -> list[GPU]:
        return self.gpus

    def place(self, queue: list[dict[str, Any]], busy: set[int], cpu_slots: int) -> list[Placement]:
        requests = [Request((r["task_id"], r["run_index"]), r["gpus_requested"]) for r in queue]
        free = [g.index for g in self.gpus if g.index not in busy]
        return plan(requests, free, len(self.gpus), cpu_slots)


class HubLeases(GPUSource):
    """GPUs leased from ``python -m jupyter_trio.hub`` (a Hub service) with this server's Hub token.

    The arbiter is found through ``TRIO_GPU_ARBITER_URL`` or the Hub's API (``/hub/api/services/trio-gpus``;
    the server token needs ``read:services!service=trio-gpus``). A worker thread makes every call: new
    requests, the waiting leases' news (one request every ``POLL_S`` seconds while any wait), releases, the
    GPUs' states; the runner only reads what it last heard, so the server's loop never waits on the arbiter.
    """

    def __init__(self, service: str = "trio-gpus", url: str | None = None, token: str | None = None):
        self.token = token or os.environ.get("JUPYTERHUB_API_TOKEN", "")
        self.user = os.environ.get("JUPYTERHUB_USER", "")
        self.server = os.environ.get("JUPYTERHUB_SERVER_NAME", "")
        # every call after start-up is made by the worker thread; timeouts keep a hung arbiter from holding it
        self.http = httpx.Client(
            headers={"Authorization": f"token {self.token}"}, timeout=httpx.Timeout(3.0, connect=1.0)
        )
        self._quiet_until = 0.0  # after a failure, leave the arbiter alone for a moment
        self.base = (url or os.environ.get("TRIO_GPU_ARBITER_URL") or self._discover(service)).rstrip(
            "/"
        ) + "/"
        self._leases: dict[Key, dict[str, Any]] = {}
        self._wanted: dict[Key, dict[str, Any]] = {}  # runs to ask a lease for
        self._releases: list[dict[str, Any]] = []  # leases to give back
        self._refused: dict[Key, float] = {}  # asked again only after this (monotonic)
        self._gpu_states: list[dict[str, Any]] | None = None
        self._states_at = 0.0
        self._inventory: list[GPU] | None = None
        self._policy: dict[str, Any] = {}
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

    def policy(self) -> dict[str, Any]:
        if not self._policy:
            reply = self._call("GET", "api/policy")
            reply.raise_for_status()
            self._policy = reply.json()
        return self._policy

    def inventory(self) -> list[GPU]:
        if self._inventory is None:
            if time.monotonic() < self._quiet_until:
                return []
            try:
                self._inventory = [GPU(index=i) for i in self.policy()["gpus"]]
            except httpx.HTTPError as exc:
                log.warning("GPU arbiter at %s unreachable: %s", self.base, exc)
                self._quiet_until = time.monotonic() + REFUSED_BACKOFF_S
                return []
        return self._inventory

    def check(self, count: int, task_name: str) -> None:
        super().check(count, task_name)
        limit = self.policy().get("max_gpus_per_user", 0)
        if limit and count > limit:
            raise ValidationFailed(
                f"task {task_name!r} asks for {count} GPU(s); the Hub's GPU quota is {limit} per user at once"
            )

    def job_name(self, key: Key) -> str:
        return f"{self.server or 'default'}/{key[0]}/{key[1]}"

    def place(self, queue: list[dict[str, Any]], busy: set[int], cpu_slots: int) -> list[Placement]:
        """Never waits on the network: GPU runs are placed from what the worker thread last heard; runs
        without a lease yet are handed to it to ask for."""
        cpu = [Request((r["task_id"], r["run_index"]), 0) for r in queue if r["gpus_requested"] <= 0]
        placements = plan(cpu, [], 0, cpu_slots)
        asked = False
        with self._lock:
            for row in queue:
                if row["gpus_requested"] <= 0:
                    continue
                key = (row["task_id"], row["run_index"])
                lease = self._leases.get(key)
                if lease is None and key not in self._wanted:
                    self._wanted[key] = {"gpus": row["gpus_requested"], "priority": row["priority"]}
                    asked = True
                elif lease is not None and lease["state"] == "granted":
                    placements.append(Placement(key, list(lease["gpus"])))
        if asked:
            self._wake_worker.set()
        return placements

    def lease_for(self, key: Key) -> dict[str, Any] | None:
        with self._lock:
            lease = self._leases.get(key)
        if lease is None:
            return None
        ttl = float(self._policy.get("lease_ttl", 30.0))
        return {"url": f"{self.base}api/leases/{lease['id']}", "secret": lease["secret"], "every": ttl / 3}

    def release(self, key: Key) -> None:
        with self._lock:
            lease = self._leases.pop(key, None)
            self._wanted.pop(key, None)
            if lease is not None and lease["state"] in ("queued", "granted"):
                self._releases.append(lease)
        self._wake_worker.set()

    def status(self, running: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
            self._call(
                "DELETE", f"api/leases/{lease['id']}", headers={"X-Trio-Lease-Secret": lease["secret"]}
            )
        granted = False
        for key, want in wanted.items():
            reply = self._call("POST", "api/leases", json={"job": self.job_name(key), **want})
            if reply.status_code >= 400:
                log.warning("GPU lease for %s refused: %s", key, reply.text[:300])
                self._refused[key] = now + REFUSED_BACKOFF_S
                continue
            lease = reply.json()
            with self._lock:
                if self._wanted.pop(key, None) is None:  # released while we asked
                    self._releases.append(lease)
                    continue
                self._leases[key] = lease
            granted = granted or lease["state"] == "granted"
        with self._lock:
            waiting = {lease["id"]: key for key, lease in self._leases.items() if lease["state"] == "queued"}
        if waiting:
            reply = self._call("GET", "api/leases")
            if reply.status_code == 200:
                fresh = {x["id"]: x for x in reply.json()["leases"]}
                with self._lock:
                    for lid, key in waiting.items():
                        if key not in self._leases:
                            continue
                        if lid not in fresh:  # ended while waiting (revoked, expired): ask again
                            self._leases.pop(key)
                        else:
                            self._leases[key] = {**self._leases[key], **fresh[lid]}
                            granted = granted or fresh[lid]["state"] == "granted"
        if granted or releases or now - self._states_at >= STATES_EVERY_S:
            self._states_at = now
            reply = self._call("GET", "api/gpus")
            if reply.status_code == 200:
                self._gpu_states = [
                    {
                        "index": g["index"],
                        "state": g["state"],
                        "user": g["user"],
                        "unleased": g.get("unleased", []),  # processes on it without its lease
                    }
                    for g in reply.json()["gpus"]
                ]
        return granted

    def close(self) -> None:
        self._closed = True
        self._wake_worker.set()
        self._worker.join(5)
        self.http.close()


BUILTIN_SOURCES: dict[str, type[GPUSource]] = {"local": LocalGPUs, "hub": HubLeases}

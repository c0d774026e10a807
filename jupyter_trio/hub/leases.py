"""The arbiter's book of GPU leases: requests, grants, renewals, releases, and the policy that orders them.

Pure (no I/O, no clock of its own: every call is given ``now``), so the policy is tested directly.

Policy, applied whenever something changes:

- a request is granted when enough GPUs are free and the user stays within ``max_gpus_per_user``;
- the next grant goes to the user with the fewest recent GPU-hours (GPU-seconds within
  ``fair_share_window`` seconds, held leases counted up to now), then fewest GPUs held now, then the
  oldest waiting request; within that user, the highest priority first; a request that does not fit lets
  smaller ones behind it start (backfill);
- no GPU index is ever held by two leases;
- a granted lease lives while it is renewed (``ttl`` seconds); a lease not renewed in time is expired.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

WAITING, GRANTED = "queued", "granted"
RELEASED, EXPIRED, REVOKED = "released", "expired", "revoked"
ENDED = (RELEASED, EXPIRED, REVOKED)
WAITING_TTLS = 5  # a waiting request nobody asks about for this many TTLs is dropped


class LeaseRefused(Exception):
    """A request the policy will never grant (too many GPUs, too many waiting): a 4xx for the caller."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Lease:
    id: str
    user: str
    job: str  # the requester's own key (server user + task + run): one lease per job
    gpus_wanted: int
    priority: int
    created_at: float
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    state: str = WAITING
    gpus: list[int] = field(default_factory=list)
    granted_at: float | None = None
    ended_at: float | None = None
    expires_at: float | None = None
    message: str = ""
    seen_at: float | None = None  # a waiting lease: when its server last asked about it

    def to_dict(self, *, with_secret: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not with_secret:
            out.pop("secret")
        return out

    def gpu_seconds(self, since: float, now: float) -> float:
        if self.granted_at is None:
            return 0.0
        start = max(self.granted_at, since)
        end = self.ended_at if self.ended_at is not None else now
        return max(0.0, end - start) * len(self.gpus)


@dataclass
class Policy:
    max_gpus_per_user: int = 0  # 0: no limit beyond the inventory
    max_queued_per_user: int = 10
    ttl: float = 30.0
    fair_share_window: float = 24 * 3600.0


class LeaseBook:
    def __init__(self, inventory: list[int], policy: Policy):
        self.inventory = sorted(inventory)
        self.policy = policy
        self.leases: dict[str, Lease] = {}
        self._next = 1

    # ---- what holds what
    def held(self) -> dict[int, Lease]:
        return {g: lease for lease in self.leases.values() if lease.state == GRANTED for g in lease.gpus}

    def free(self) -> list[int]:
        held = self.held()
        return [g for g in self.inventory if g not in held]

    def usage(self, user: str, now: float) -> float:
        since = now - self.policy.fair_share_window
        return sum(lease.gpu_seconds(since, now) for lease in self.leases.values() if lease.user == user)

    def by_job(self, user: str, job: str) -> Lease | None:
        for lease in self.leases.values():
            if lease.user == user and lease.job == job and lease.state not in ENDED:
                return lease
        return None

    # ---- changes
    def request(self, user: str, job: str, gpus: int, priority: int, now: float) -> Lease:
        """Ask for ``gpus`` GPUs for ``job``; the same job asking again gets its existing lease."""
        existing = self.by_job(user, job)
        if existing is not None:
            return existing
        limit = self.policy.max_gpus_per_user or len(self.inventory)
        if gpus < 1:
            raise LeaseRefused(422, "a lease is for 1 GPU or more")
        if gpus > len(self.inventory):
            raise LeaseRefused(422, f"{gpus} GPU(s) asked; this machine has {len(self.inventory)}")
        if gpus > limit:
            raise LeaseRefused(403, f"{gpus} GPU(s) asked; the quota is {limit} GPU(s) per user at once")
        waiting = sum(1 for lease in self.leases.values() if lease.user == user and lease.state == WAITING)
        if waiting >= self.policy.max_queued_per_user:
            raise LeaseRefused(
                429,
                f"{user} already has {waiting} requests waiting "
                f"(the quota is {self.policy.max_queued_per_user})",
            )
        lease = Lease(
            id=f"L{self._next:06d}", user=user, job=job, gpus_wanted=gpus, priority=priority, created_at=now
        )
        self._next += 1
        self.leases[lease.id] = lease
        self.grant(now)
        return lease

    def grant(self, now: float) -> list[Lease]:
        """Grant what the policy allows now; returns the leases granted by this call.

        Each grant goes to the waiting request that fits and ranks first by (the user's recent GPU-seconds,
        the GPUs the user holds right now, their oldest waiting request), then that user's request with the
        highest priority: two users with no history share the free GPUs instead of the first one in the
        queue taking them all, and a user's priorities order only their own requests.
        """
        free = self.free()
        held_by: dict[str, int] = {}
        for lease in self.leases.values():
            if lease.state == GRANTED:
                held_by[lease.user] = held_by.get(lease.user, 0) + len(lease.gpus)
        limit = self.policy.max_gpus_per_user or len(self.inventory)
        usage = {u: self.usage(u, now) for u in {lease.user for lease in self.leases.values()}}
        waiting = [lease for lease in self.leases.values() if lease.state == WAITING]
        granted = []
        while True:
            fits = [
                x
                for x in waiting
                if x.gpus_wanted <= len(free) and held_by.get(x.user, 0) + x.gpus_wanted <= limit
            ]
            if not fits:
                return granted
            # first the user (fair share; priority cannot jump another user's queue), then that user's
            # own request by priority
            user = min(
                {x.user for x in fits},
                key=lambda u: (usage[u], held_by.get(u, 0), min(x.created_at for x in fits if x.user == u)),
            )
            lease = min((x for x in fits if x.user == user), key=lambda x: (-x.priority, x.created_at, x.id))
            lease.gpus, free = free[: lease.gpus_wanted], free[lease.gpus_wanted :]
            lease.state, lease.granted_at, lease.expires_at = GRANTED, now, now + self.policy.ttl
            held_by[lease.user] = held_by.get(lease.user, 0) + lease.gpus_wanted
            waiting.remove(lease)
            granted.append(lease)

    def renew(self, lease: Lease, now: float) -> None:
        if lease.state == WAITING:
            lease.expires_at = None
            return
        if lease.state != GRANTED:
            raise LeaseRefused(
                410, f"lease {lease.id} is {lease.state}" + (f": {lease.message}" if lease.message else "")
            )
        lease.expires_at = now + self.policy.ttl

    def end(self, lease: Lease, state: str, now: float, message: str = "") -> None:
        if lease.state in ENDED:
            return
        lease.state, lease.ended_at, lease.message = state, now, message
        lease.expires_at = None
        self.grant(now)

    def expire(self, now: float) -> list[Lease]:
        """Leases whose holder stopped renewing them (its job and server gone) are freed; a waiting request
        its server stopped asking about for ``WAITING_TTLS`` TTLs is dropped (that server asks again when it
        comes back)."""
        gone = [
            lease
            for lease in self.leases.values()
            if lease.state == GRANTED and lease.expires_at is not None and lease.expires_at < now
        ]
        for lease in gone:
            self.end(lease, EXPIRED, now, "not renewed in time: its job ended or its supervisor died")
        stale = now - WAITING_TTLS * self.policy.ttl
        for lease in [x for x in self.leases.values() if x.state == WAITING]:
            if (lease.seen_at if lease.seen_at is not None else lease.created_at) < stale:
                self.end(lease, EXPIRED, now, "its server stopped asking for it")
                gone.append(lease)
        self.prune(now)
        return gone

    def extend_granted(self, now: float) -> None:
        """After a restart of the service: held leases get a full TTL (their renewals were not saved)."""
        for lease in self.leases.values():
            if lease.state == GRANTED:
                lease.expires_at = max(lease.expires_at or 0.0, now + self.policy.ttl)

    def prune(self, now: float) -> None:
        """Forget ended leases older than the fair-share window (they no longer count)."""
        horizon = now - self.policy.fair_share_window
        for lid in [x.id for x in self.leases.values() if x.state in ENDED and (x.ended_at or now) < horizon]:
            del self.leases[lid]

    def queue_position(self, lease: Lease, now: float) -> int | None:
        if lease.state != WAITING:
            return None
        usage = {u: self.usage(u, now) for u in {x.user for x in self.leases.values()}}
        waiting = sorted(
            (x for x in self.leases.values() if x.state == WAITING),
            key=lambda x: (usage[x.user], -x.priority, x.created_at, x.id),
        )
        return [x.id for x in waiting].index(lease.id) + 1

    # ---- persistence (the service writes this after each change)
    def to_json(self) -> dict[str, Any]:
        return {
            "next": self._next,
            "leases": [lease.to_dict(with_secret=True) for lease in self.leases.values()],
        }

    def load_json(self, data: dict[str, Any]) -> None:
        self._next = int(data.get("next", 1))
        for item in data.get("leases", []):
            lease = Lease(**item)
            self.leases[lease.id] = lease

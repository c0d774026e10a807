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

What the book keeps is bounded, so one user's request/release flood cannot make every request slower:
each user keeps their last ``max_history_per_user`` ended leases (for the listing); the GPU-seconds of
every ended lease are folded, when it ends, into that user's usage totals per time bucket (1/288 of the
fair-share window), which fair share reads instead of the ended rows. The book records what changed
(``take_changes``) so the service persists only that.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

WAITING, GRANTED = "queued", "granted"
RELEASED, EXPIRED, REVOKED = "released", "expired", "revoked"
ENDED = (RELEASED, EXPIRED, REVOKED)
WAITING_TTLS = 5  # a waiting request nobody asks about for this many TTLs is dropped
USAGE_BUCKETS = 288  # usage totals per user: the fair-share window in this many buckets (5 min of 24 h)


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
    max_history_per_user: int = 50  # ended leases kept per user; older ones live on as usage totals


@dataclass
class Changes:
    """What changed since the last ``take_changes``: the service writes exactly this."""

    leases: list[Lease]  # new or changed
    forgotten: list[str]  # ids of leases dropped from the book
    usage: dict[tuple[str, int], float | None]  # (user, bucket start) -> GPU-seconds; None: dropped
    next_id: int


class LeaseBook:
    def __init__(self, inventory: list[int], policy: Policy):
        self.inventory = sorted(inventory)
        self.policy = policy
        self.leases: dict[str, Lease] = {}
        # GPU-seconds of ended leases, per user and bucket start (seconds since the epoch)
        self.used: dict[str, dict[int, float]] = {}
        self.bucket = max(1, int(policy.fair_share_window / USAGE_BUCKETS))
        self._next = 1
        self._dirty: set[str] = set()
        self._forgotten: set[str] = set()
        self._dirty_usage: set[tuple[str, int]] = set()

    # ---- what holds what
    def held(self) -> dict[int, Lease]:
        return {g: lease for lease in self.leases.values() if lease.state == GRANTED for g in lease.gpus}

    def free(self) -> list[int]:
        held = self.held()
        return [g for g in self.inventory if g not in held]

    def usage(self, user: str, now: float) -> float:
        """``user``'s GPU-seconds within the fair-share window: held leases up to now, ended ones from the
        usage totals (the bucket at the window's edge counted pro rata)."""
        return self.usage_by_user(now).get(user, 0.0)

    def usage_by_user(self, now: float) -> dict[str, float]:
        since = now - self.policy.fair_share_window
        out: dict[str, float] = {lease.user: 0.0 for lease in self.leases.values()}
        for lease in self.leases.values():
            if lease.state == GRANTED:
                out[lease.user] += lease.gpu_seconds(since, now)
        width = self.bucket
        for user, buckets in self.used.items():
            total = 0.0
            for start, seconds in buckets.items():
                if start >= since:
                    total += seconds
                elif start + width > since:
                    total += seconds * (start + width - since) / width
            out[user] = out.get(user, 0.0) + total
        return out

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
        self._dirty.add(lease.id)
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
        waiting = [lease for lease in self.leases.values() if lease.state == WAITING]
        if not waiting or not free:
            return []
        usage = self.usage_by_user(now)
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
            self._dirty.add(lease.id)

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
        self._dirty.add(lease.id)
        self._fold(lease)
        self._trim(lease.user)
        self.grant(now)

    def _fold(self, lease: Lease) -> None:
        """Add an ended lease's GPU-seconds to its user's usage totals, spread over the buckets it spans."""
        if lease.granted_at is None or lease.ended_at is None or not lease.gpus:
            return
        buckets = self.used.setdefault(lease.user, {})
        start, end, width = lease.granted_at, lease.ended_at, self.bucket
        while start < end:
            bucket = int(math.floor(start / width) * width)
            stop = min(end, bucket + width)
            buckets[bucket] = buckets.get(bucket, 0.0) + (stop - start) * len(lease.gpus)
            self._dirty_usage.add((lease.user, bucket))
            start = stop

    def _trim(self, user: str) -> None:
        """Keep the user's newest ``max_history_per_user`` ended leases (their usage is already folded)."""
        ended = [x for x in self.leases.values() if x.user == user and x.state in ENDED]
        extra = len(ended) - max(0, self.policy.max_history_per_user)
        if extra > 0:
            ended.sort(key=lambda x: (x.ended_at or 0.0, x.id))
            for lease in ended[:extra]:
                self._forget(lease.id)

    def _forget(self, lid: str) -> None:
        del self.leases[lid]
        self._dirty.discard(lid)
        self._forgotten.add(lid)

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
            elif lease.state == WAITING:
                lease.seen_at = now  # its server gets the same grace to ask again

    def prune(self, now: float) -> None:
        """Forget ended leases and usage totals older than the fair-share window (they no longer count)."""
        horizon = now - self.policy.fair_share_window
        for lid in [x.id for x in self.leases.values() if x.state in ENDED and (x.ended_at or now) < horizon]:
            self._forget(lid)
        for user in list(self.used):
            buckets = self.used[user]
            for start in [b for b in buckets if b + self.bucket < horizon]:
                del buckets[start]
                self._dirty_usage.add((user, start))
            if not buckets:
                del self.used[user]

    def queue_position(self, lease: Lease, now: float) -> int | None:
        if lease.state != WAITING:
            return None
        usage = self.usage_by_user(now)
        waiting = sorted(
            (x for x in self.leases.values() if x.state == WAITING),
            key=lambda x: (usage[x.user], -x.priority, x.created_at, x.id),
        )
        return [x.id for x in waiting].index(lease.id) + 1

    # ---- persistence: the service writes what changed after each change (``take_changes``)
    def take_changes(self) -> Changes:
        """What changed since the last call (and forget that it did)."""
        usage = {key: self.used.get(key[0], {}).get(key[1]) for key in self._dirty_usage}
        changes = Changes(
            leases=[self.leases[lid] for lid in sorted(self._dirty) if lid in self.leases],
            forgotten=sorted(self._forgotten),
            usage=usage,
            next_id=self._next,
        )
        self._dirty, self._forgotten, self._dirty_usage = set(), set(), set()
        return changes

    def restore(self, leases: list[Lease], used: dict[str, dict[int, float]], next_id: int) -> None:
        """Load what the service kept (nothing to write back)."""
        self._next = max(self._next, next_id)
        for lease in leases:
            self.leases[lease.id] = lease
        for user, buckets in used.items():
            self.used.setdefault(user, {}).update(buckets)

    def to_json(self) -> dict[str, Any]:
        return {
            "next": self._next,
            "leases": [lease.to_dict(with_secret=True) for lease in self.leases.values()],
            "usage": {user: {str(k): v for k, v in b.items()} for user, b in self.used.items()},
        }

    def load_json(self, data: dict[str, Any]) -> None:
        """Load a JSON state (also the whole-file state of earlier versions, whose ended leases are folded
        into usage totals and trimmed to the history cap); everything loaded is marked changed."""
        self._next = max(self._next, int(data.get("next", 1)))
        for user, buckets in (data.get("usage") or {}).items():
            for start, seconds in buckets.items():
                self.used.setdefault(user, {})[int(start)] = float(seconds)
                self._dirty_usage.add((user, int(start)))
        legacy = "usage" not in data  # ended leases not yet folded
        for item in data.get("leases", []):
            lease = Lease(**item)
            self.leases[lease.id] = lease
            self._dirty.add(lease.id)
            if legacy and lease.state in ENDED:
                self._fold(lease)
        for user in {x.user for x in self.leases.values()}:
            self._trim(user)

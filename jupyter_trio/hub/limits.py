"""What the GPU arbiter accepts from one caller: bounded request fields and a request rate per user.

The arbiter serves every user from one event loop; these bounds keep one user's traffic (a flood, or a
job name of a megabyte) from costing the others their renewals. Pure, so they are tested directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_BODY_BYTES = 4096  # a lease request is a few dozen bytes
MAX_LEASE_ID_CHARS = 32
PRIORITY_RANGE = (-1000, 1000)
MAX_GPUS = 1024  # a sanity bound; the policy refuses more than the machine has, with the count


class BadRequest(Exception):
    """A request the arbiter refuses as it is: a 4xx with a message saying what to fix."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class LeaseRequest:
    job: str
    gpus: int
    priority: int


def _integer(data: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(422, f"{key} must be an integer")
    if not low <= value <= high:
        raise BadRequest(422, f"{key} must be between {low} and {high}; got {value}")
    return value


def parse_lease_request(data: dict[str, Any], *, max_job_chars: int) -> LeaseRequest:
    """Check a ``POST api/leases`` body: ``job`` (a printable string of at most ``max_job_chars``),
    ``gpus`` and ``priority`` (integers in range; the inventory and quota checks stay with the policy)."""
    job = data.get("job")
    if not isinstance(job, str) or not job:
        raise BadRequest(422, "job: name the job this lease is for (a string)")
    if len(job) > max_job_chars:
        raise BadRequest(422, f"job: at most {max_job_chars} characters; got {len(job)}")
    if not job.isprintable():
        raise BadRequest(422, "job: control characters are not allowed")
    gpus = _integer(data, "gpus", 1, 1, MAX_GPUS)
    priority = _integer(data, "priority", 0, *PRIORITY_RANGE)
    return LeaseRequest(job=job, gpus=gpus, priority=priority)


class RateLimiter:
    """Token buckets, one per key (a Hub user): ``rate`` requests a second on average, ``burst`` at once.

    Keys are Hub user names the Hub vouched for, so the table is as bounded as the Hub's user list.
    """

    def __init__(self, rate: float, burst: int):
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str, now: float) -> float:
        """Spend one token of ``key``: 0.0 when allowed, else the seconds until one is back."""
        if self.rate <= 0:
            return 0.0  # no limit
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0


def retry_after(seconds: float) -> str:
    """The ``Retry-After`` header value (whole seconds, at least 1)."""
    return str(max(1, math.ceil(seconds)))

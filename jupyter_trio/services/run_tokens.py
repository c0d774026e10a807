"""A job's own credential: the run token, never the server's.

A job gets ``TRIO_SERVER_URL`` and ``TRIO_TOKEN`` = a run token, ``trio-run.<task>.<run>.<mac>``
(HMAC-SHA256 of the run's key under ``ingest.key``, a workspace secret kept outside what the files API
serves). The token is good only while its run is ``running`` and only for

- reading the server's jupyter-trio API (``GET``/``HEAD``/``OPTIONS`` of the three dialects: a job may look up
  tasks, metrics and checkpoints through ``ServiceClient``), checked in ``handlers/base.py``;
- writing into its own run through the ingest routes (``services/ingest.py``), for jobs without a shared
  filesystem.

Nothing else of the server (contents, terminals, kernels, another run's ingest, any write of the API)
accepts it. A Ray job does not get the token in its job spec (Ray lists job specs to anyone who can reach
its dashboard): it gets a **claim**, which its entrypoint trades once for the token
(``POST /trio/api/ingest/<task>/<run>/token``); a second trade is refused, so a claim read off the dashboard
after the job started is worth nothing, and one read before makes the job fail loudly instead of sharing
its token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import Conflict, Forbidden

PREFIX = "trio-run."
_TOKEN = re.compile(r"trio-run\.([A-Za-z0-9]{1,32})\.([0-9]{1,9})\.([0-9a-f]{64})")
CLAIMED = ".token-claimed"  # in the run folder: the run's claim was traded (a dot file: never uploaded)


@dataclass(frozen=True)
class RunKey:
    task_id: str
    run_index: int


def is_run_token(credential: str) -> bool:
    return credential.startswith(PREFIX)


class RunTokens:
    """Makes and checks run tokens and one-time claims under the workspace's ingest key."""

    def __init__(self, secret: bytes):
        self.secret = secret

    def _mac(self, purpose: str, task_id: str, run_index: int) -> str:
        message = f"{purpose}\n{task_id}\n{run_index}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def token(self, task_id: str, run_index: int) -> str:
        # signed for "run", not "ingest": the bare ingest MAC that jobs started before run tokens carry (and
        # that Ray listed in their specs) must not be turned into a token that reads the API
        return f"{PREFIX}{task_id}.{run_index}.{self._mac('run', task_id, run_index)}"

    def parse(self, token: str) -> RunKey:
        """The run a token belongs to; Forbidden when it is not one of ours."""
        match = _TOKEN.fullmatch(token or "")
        if match is None:
            raise Forbidden("not a run token of this workspace")
        key = RunKey(match.group(1), int(match.group(2)))
        if not hmac.compare_digest(self._mac("run", key.task_id, key.run_index), match.group(3)):
            raise Forbidden("not a run token of this workspace")
        return key

    def check(self, task_id: str, run_index: int, token: str) -> None:
        """``token`` is the token of exactly this run. A bare MAC (what jobs started before run tokens named
        their run carry) is still taken here, where the route names the run."""
        legacy = self._mac("ingest", task_id, run_index)
        if token and hmac.compare_digest(legacy, token):
            return
        try:
            key = self.parse(token)
        except Forbidden:
            raise Forbidden("this run token does not belong to this run") from None
        if key != RunKey(task_id, run_index):
            raise Forbidden("this run token does not belong to this run")

    # ---- one-time claims (Ray jobs)
    def claim(self, task_id: str, run_index: int) -> str:
        return self._mac("claim", task_id, run_index)

    def redeem(self, task_id: str, run_index: int, claim: str, run_dir: Path) -> str:
        """The run's token for its claim, once: the first trade marks the run folder, a second is refused."""
        if not claim or not hmac.compare_digest(self.claim(task_id, run_index), claim):
            raise Forbidden("this claim does not belong to this run")
        run_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(run_dir / CLAIMED, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise Conflict(
                "this run's token was claimed already: a claim works once (if the job did not claim it, "
                "someone who read the Ray job's spec did — cancel the run)"
            ) from None
        os.close(fd)
        return self.token(task_id, run_index)

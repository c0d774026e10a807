"""``should_prune()``: a sweep's pruner asks this trial to stop (the server writes ``should_prune`` into
the run folder). A script that checks it between steps exits cleanly — its last points are kept and the
trial is recorded ``pruned`` — before the runner's cancel (SIGTERM) would stop it a moment later."""

from __future__ import annotations

import time

from .run import get_run_dir

MARKER = "should_prune"  # services/sweeps.py writes it
_CHECK_EVERY_S = 0.2  # a stat of the run folder at most this often: cheap inside a training loop
_checked_at = 0.0
_answer = False


def should_prune() -> bool:
    """True once the sweep's pruner has pruned this trial (always False outside a sweep's trial)."""
    global _checked_at, _answer
    if _answer:
        return True
    now = time.monotonic()
    if now - _checked_at < _CHECK_EVERY_S:
        return False
    _checked_at = now
    run_dir = get_run_dir()
    _answer = run_dir is not None and (run_dir / MARKER).exists()
    return _answer

"""Retries: a run that ends in one of its task's ``retry_on`` ways is queued again, ``max_retries`` times
at most, after a back-off that doubles each time (runs in: server).

The ways a run ends in a retry: ``failed`` (a non-zero exit), ``interrupted`` (its supervisor was lost:
killed, or the machine restarted) and ``lost_lease`` (the Hub's arbiter took its GPU back). A cancel is
never retried, nor a pruned sweep trial. The retry is a new run of the task that names the run it retries
(``retry_of``) and waits in the queue until ``not_before`` (``c.TrioApp.retry_delay`` × 2^n, at most
``MAX_DELAY_S``), with the reason as its message; the task's run history shows every attempt. A training
task with a saved checkpoint resumes from its last epoch (``TrainingService.resume``) instead of starting
over. Registered as a ``Runner.on_finish`` hook: it decides and queues, it never waits.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ..domain import Run, RunState, ScheduledRun, Task
from ..store import Store

if TYPE_CHECKING:
    from ..runner.service import Runner
    from .training import TrainingService

log = logging.getLogger(__name__)

RETRY_REASONS = ("failed", "interrupted", "lost_lease")
MAX_RETRIES = 20
MAX_DELAY_S = 300.0
LEASE_LOST = "GPU lease lost"  # the shim's message for a run whose lease the arbiter took back


def reason_of(run: Run) -> str | None:
    """Which retry reason a run's end is, or None (completed, cancelled, pruned)."""
    if LEASE_LOST in (run.message or ""):
        return "lost_lease"
    if run.status == RunState.INTERRUPTED:
        return "interrupted"
    if run.status == RunState.FAILED:
        return "failed"
    return None


class RetryPolicy:
    def __init__(
        self, store: Store, runner: Runner, training: TrainingService | None = None, delay_s: float = 5.0
    ):
        self.store = store
        self.runner = runner
        self.training = training
        self.delay_s = delay_s

    def attempts_before(self, task_id: str, run: Run) -> int:
        """How many retries led to ``run`` (0 for a first attempt): its chain of ``retry_of``."""
        count, current, seen = 0, run, set()
        while current.retry_of is not None and current.retry_of not in seen:
            seen.add(current.retry_of)
            previous = self.store.tasks.run(task_id, current.retry_of)
            if previous is None:
                break
            count, current = count + 1, previous
        return count

    def on_finish(self, item: ScheduledRun) -> None:
        task = self.store.tasks.get(item.run.task_id)
        run = self.store.tasks.run(item.run.task_id, item.run.run_index)
        if task is None or run is None or task.max_retries <= 0:
            return
        reason = reason_of(run)
        if reason is None or reason not in task.retry_on:
            return
        done = self.attempts_before(task.id, run)
        if done >= task.max_retries:
            log.info(
                "task %s: run %s %s; no retry left (%s)", task.name, run.run_index, reason, task.max_retries
            )
            return
        delay = min(self.delay_s * 2**done, MAX_DELAY_S)
        why = f" ({run.message})" if run.message else ""
        message = f"retry {done + 1} of {task.max_retries}, after run {run.run_index} {reason}{why}"
        try:
            self._queue(task, run.run_index, time.time() + delay, message[:2000])
        except Exception:  # a retry that cannot be queued leaves the run as it ended
            log.exception("task %s: could not queue its retry", task.name)

    def _queue(self, task: Task, retry_of: int, not_before: float, message: str) -> None:
        if self.training is not None and task.kind in ("train", "prune"):
            resumable, _ = self.training.resume_info(task.id)
            if resumable:  # from its last saved epoch, not from the start
                self.training.resume(task.id, retry_of=retry_of, not_before=not_before, message=message)
                return
        self.runner.submit(task, retry_of=retry_of, not_before=not_before, message=message)

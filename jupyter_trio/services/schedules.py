"""Cron schedules on any task: each fire starts a new run of the task, or a new task from its definition.

Fire times come from croniter in the schedule's time zone (zoneinfo: daylight-saving changes are the zone's),
5 fields or croniter's 6 with seconds last. The runner's tick calls ``tick()``: every due schedule is
*claimed* (its next fire moved on in one conditional write, ``store.schedules.claim``), so a fire is acted on
once whatever the number of servers or restarts, and then acted on:

- on time (late by at most ``misfire_grace`` seconds: a busy loop, a server the Hub just started for this
  fire) → the task runs; while its previous run is still queued or running, ``overlap`` says whether the
  fire is skipped or waits (``pending``) until that run ends;
- later than that (no server was up) → ``catchup``: ``skip`` the missed fires, or run ``once`` for them all.

The next fire is always the first after now: fires missed within a slow tick are not replayed one by one.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from ..domain import Schedule, ScheduleCatchup, ScheduleMode, ScheduleOverlap, Task
from ..errors import Conflict, NotFound, ValidationFailed
from ..store import Store
from ..vocabulary import ACTIVE
from .notebook_jobs import NotebookJobService
from .tasks import TaskService

log = logging.getLogger(__name__)

MAX_PENDING = 100  # fires a schedule keeps waiting behind a running run (overlap "queue")
PREVIEW_FIRES = 5
COPYABLE_KINDS = ("script", "shell", "notebook_job")  # mode new_task: a task's definition is all it needs


def check_timezone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed("timezone: an IANA time zone name is required, e.g. 'UTC' or 'Asia/Shanghai'")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"timezone: {name!r} is not a known time zone (IANA names: 'Europe/Paris')"
        ) from None


def check_cron(expression: str) -> str:
    """A cron expression croniter reads: 5 fields (minute hour day month weekday), 6 (seconds last), or a
    macro (@hourly, @daily, @weekly, @monthly, @yearly)."""
    if not isinstance(expression, str) or not expression.strip():
        raise ValidationFailed("cron: an expression is required, e.g. '0 3 * * *' (every day at 03:00)")
    text = " ".join(expression.split())
    fields = len(text.split(" "))
    if text.startswith("@") and croniter.is_valid(text):  # @hourly, @daily, @weekly, @monthly, @yearly
        return text
    if fields not in (5, 6):
        raise ValidationFailed(
            f"cron: {expression!r} has {fields} fields; 5 (minute hour day month weekday) or 6 (seconds last)"
        )
    if not croniter.is_valid(text):
        raise ValidationFailed(
            f"cron: {expression!r} does not parse: minute hour day-of-month month day-of-week [second], "
            "each '*', a number, a range 'a-b', a list 'a,b' or a step '*/n'"
        )
    return text


def fires_after(expression: str, zone: ZoneInfo, after: float, count: int = 1) -> list[float]:
    """The next ``count`` fire times strictly after ``after`` (epoch seconds)."""
    it = croniter(expression, datetime.fromtimestamp(after, zone))
    return [float(it.get_next(float)) for _ in range(count)]


class ScheduleService:
    def __init__(
        self,
        store: Store,
        tasks: TaskService,
        notebook_jobs: NotebookJobService,
        misfire_grace: float = 600.0,
    ):
        self.store = store
        self.repo = store.schedules
        self.tasks = tasks
        self.notebook_jobs = notebook_jobs
        self.misfire_grace = misfire_grace

    # ---- reading
    def get(self, schedule_id: str) -> Schedule:
        found = self.repo.get(schedule_id)
        if found is None:
            raise NotFound(f"no schedule {schedule_id!r}")
        return found

    def list(self, owner: str | None = None, task: str | None = None) -> list[Schedule]:
        task_id = self.tasks.get(task).id if task else None
        return self.repo.list(owner=owner, task_id=task_id)

    def task_name(self, task_id: str) -> str:
        """The name of a schedule's task ('' when there is none, or it is gone)."""
        task = self.store.tasks.get(task_id) if task_id else None
        return task.name if task else ""

    def preview(self, cron: str, timezone: str, count: int = PREVIEW_FIRES) -> list[float]:
        return fires_after(check_cron(cron), check_timezone(timezone), time.time(), max(1, min(count, 50)))

    # ---- changing
    def create(
        self,
        owner: str,
        task: str,
        cron: str,
        timezone: str = "UTC",
        overlap: str = ScheduleOverlap.SKIP,
        catchup: str = ScheduleCatchup.SKIP,
        mode: str = ScheduleMode.RERUN,
        paused: bool = False,
    ) -> Schedule:
        target = self.tasks.get(task)
        if target.kind == "notebook":
            raise ValidationFailed(f"task {task!r} is a run opened from a kernel; it cannot be scheduled")
        expression, zone = check_cron(cron), check_timezone(timezone)
        overlap, catchup, mode = self._choices(overlap, catchup, mode)
        self._check_mode(target, mode)
        return self.repo.create(
            owner=owner,
            task_id=target.id,
            cron=expression,
            timezone=zone.key,
            overlap=overlap,
            catchup=catchup,
            mode=mode,
            paused=bool(paused),
            next_fire=None if paused else fires_after(expression, zone, time.time())[0],
        )

    def update(self, schedule_id: str, **changes: Any) -> Schedule:
        """Change a schedule's cron, time zone or policies; its next fire is computed again from now."""
        current = self.get(schedule_id)
        expression = check_cron(changes["cron"]) if changes.get("cron") is not None else current.cron
        zone = check_timezone(
            changes["timezone"] if changes.get("timezone") is not None else current.timezone
        )
        overlap, catchup, mode = self._choices(
            changes.get("overlap") or current.overlap,
            changes.get("catchup") or current.catchup,
            changes.get("mode") or current.mode,
        )
        task = self.store.tasks.get(current.task_id)
        if task is not None:
            self._check_mode(task, mode)
        paused = current.paused if changes.get("paused") is None else bool(changes["paused"])
        self.repo.update(
            schedule_id,
            cron=expression,
            timezone=zone.key,
            overlap=overlap,
            catchup=catchup,
            mode=mode,
            paused=paused,
            next_fire=None if paused else fires_after(expression, zone, time.time())[0],
        )
        return self.get(schedule_id)

    def pause(self, schedule_id: str) -> Schedule:
        return self.update(schedule_id, paused=True)

    def resume(self, schedule_id: str) -> Schedule:
        """Fires again from the next time after now (nothing missed while paused is made up)."""
        return self.update(schedule_id, paused=False)

    def delete(self, schedule_id: str) -> None:
        self.get(schedule_id)
        self.repo.delete(schedule_id)

    @staticmethod
    def _check_mode(task: Task, mode: str) -> None:
        if mode == ScheduleMode.NEW_TASK and task.kind not in COPYABLE_KINDS:
            raise ValidationFailed(
                f"mode: new_task copies script, shell and notebook tasks; {task.name!r} is a {task.kind} "
                "task (its runs are its checkpoints' history): use mode rerun"
            )

    @staticmethod
    def _choices(overlap: str, catchup: str, mode: str) -> tuple[str, str, str]:
        out = []
        for field, value, enum in (
            ("overlap", overlap, ScheduleOverlap),
            ("catchup", catchup, ScheduleCatchup),
            ("mode", mode, ScheduleMode),
        ):
            if value not in {str(v) for v in enum}:
                raise ValidationFailed(f"{field}: {value!r} is not one of {', '.join(str(v) for v in enum)}")
            out.append(str(value))
        return out[0], out[1], out[2]

    # ---- firing
    def tick(self, now: float | None = None) -> None:
        """Act on every due schedule (the runner's tick: one indexed MIN() when none is due)."""
        now = time.time() if now is None else now
        for schedule in self.repo.waiting():
            self._start_waiting(schedule)
        earliest = self.repo.next_due()
        if earliest is None or earliest > now:
            return
        for schedule in self.repo.due(now):
            try:
                self._fire(schedule, now)
            except Exception:  # one schedule's failure must not stop the others
                log.exception("schedule %s could not fire", schedule.id)

    def _fire(self, schedule: Schedule, now: float) -> None:
        seen = schedule.next_fire
        assert seen is not None
        zone = ZoneInfo(schedule.timezone)
        if not self.repo.claim(schedule.id, seen, fires_after(schedule.cron, zone, now)[0]):
            return  # another server (or an earlier tick) acted on this fire
        task = self.store.tasks.get(schedule.task_id)
        if task is None:
            self.repo.record_fire(schedule.id, seen, started=False, message="its task no longer exists")
            return
        late = now - seen
        if late > self.misfire_grace and schedule.catchup == ScheduleCatchup.SKIP:
            self.repo.record_fire(
                schedule.id,
                seen,
                started=False,
                message=f"missed while no server was up ({late:.0f} s late): skipped (catchup skip)",
            )
            return
        note = f" (catching up, {late:.0f} s late)" if late > self.misfire_grace else ""
        if schedule.mode == ScheduleMode.NEW_TASK:
            self._fire_new_task(schedule, task, seen, note)
            return
        if task.status in ACTIVE:
            if schedule.overlap == ScheduleOverlap.SKIP:
                self.repo.record_fire(
                    schedule.id,
                    seen,
                    started=False,
                    message=f"skipped: run {task.run_index} of {task.name} was still {task.status}",
                )
            else:
                self.repo.update(schedule.id, pending=min(MAX_PENDING, schedule.pending + 1))
                self.repo.record_fire(
                    schedule.id,
                    seen,
                    started=False,
                    message=f"waiting for run {task.run_index} of {task.name} to end",
                )
            return
        self._start(schedule, task, seen, note)

    def _fire_new_task(self, schedule: Schedule, task: Task, seen: float, note: str) -> None:
        last = self.store.tasks.get(schedule.last_task_id) if schedule.last_task_id else None
        if last is not None and last.status in ACTIVE and schedule.overlap == ScheduleOverlap.SKIP:
            self.repo.record_fire(
                schedule.id, seen, started=False, message=f"skipped: {last.name} was still {last.status}"
            )
            return
        stamp = datetime.fromtimestamp(seen, ZoneInfo(schedule.timezone)).strftime("%Y%m%d-%H%M%S")
        made = self.notebook_jobs.copy_definition(task, f"{task.name[:100]}-{stamp}")
        self._start(schedule, made, seen, note)

    def _start(self, schedule: Schedule, task: Task, seen: float, note: str) -> None:
        try:
            self.tasks.runner.submit(task)
        except (Conflict, ValidationFailed) as exc:
            self.repo.record_fire(schedule.id, seen, started=False, message=f"not started: {exc}")
            return
        run = self.store.tasks.get(task.id)
        self.repo.record_fire(
            schedule.id,
            seen,
            started=True,
            task_id=task.id,
            message=f"started run {run.run_index if run else '?'} of {task.name}{note}",
        )

    def _start_waiting(self, schedule: Schedule) -> None:
        """A fire waiting behind its task's run (overlap ``queue``) starts once that run has ended (the
        runner's tick that records the end runs this one next)."""
        task = self.store.tasks.get(schedule.task_id)
        if task is None or task.status in ACTIVE:
            return
        self.repo.update(schedule.id, pending=schedule.pending - 1)
        self._start(schedule, task, schedule.last_fire or time.time(), " (it waited for the previous run)")

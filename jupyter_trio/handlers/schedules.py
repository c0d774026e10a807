"""Cron schedules (native dialect): fire runs of a task, or new tasks from its definition. See
services/schedules.py."""

from __future__ import annotations

from ..domain import Schedule
from ..schemas.notebook_jobs import (
    ScheduleCreate,
    ScheduleInfo,
    ScheduleList,
    SchedulePreviewBody,
    SchedulePreviewReply,
    ScheduleUpdate,
)
from .base import TrioHandler, operation


class _Schedule(TrioHandler):
    def info(self, schedule: Schedule) -> ScheduleInfo:
        names = self.trio.schedules.task_name
        return ScheduleInfo.of(schedule, names(schedule.task_id), names(schedule.last_task_id))


class SchedulesHandler(_Schedule):
    @operation(
        "Every schedule, oldest first, with its next fire time", response=ScheduleList, tag="schedules"
    )
    def get(self) -> None:
        self.reply(ScheduleList(schedules=[self.info(s) for s in self.trio.schedules.list()]))

    @operation(
        "Schedule a task: a cron expression in a time zone fires runs of it",
        request=ScheduleCreate,
        response=ScheduleInfo,
        status=201,
        tag="schedules",
    )
    def post(self) -> None:
        body = self.parse_body(ScheduleCreate)
        made = self.trio.schedules.create(
            self.username,
            body.task,
            body.cron,
            body.timezone,
            overlap=body.overlap,
            catchup=body.catchup,
            mode=body.mode,
            paused=body.paused,
        )
        self.reply(self.info(made), 201)


class SchedulePreviewHandler(TrioHandler):
    @operation(
        "The next fire times of a cron expression in a time zone",
        request=SchedulePreviewBody,
        response=SchedulePreviewReply,
        tag="schedules",
    )
    def post(self) -> None:
        body = self.parse_body(SchedulePreviewBody)
        fires = self.trio.schedules.preview(body.cron, body.timezone, body.count)
        self.reply(SchedulePreviewReply(cron=" ".join(body.cron.split()), timezone=body.timezone, next=fires))


class ScheduleHandler(_Schedule):
    @operation("A schedule", response=ScheduleInfo, tag="schedules")
    def get(self, sid: str) -> None:
        self.reply(self.info(self.trio.schedules.get(sid)))

    @operation(
        "Change a schedule (its next fire is computed again from now)",
        request=ScheduleUpdate,
        response=ScheduleInfo,
        tag="schedules",
    )
    def patch(self, sid: str) -> None:
        body = self.parse_body(ScheduleUpdate)
        self.reply(self.info(self.trio.schedules.update(sid, **body.model_dump(exclude_none=True))))

    @operation("Delete a schedule (its task and runs stay)", status=204, tag="schedules")
    def delete(self, sid: str) -> None:
        self.trio.schedules.delete(sid)
        self.set_status(204)
        self.finish()


class SchedulePauseHandler(_Schedule):
    @operation("Pause a schedule: it fires no more until resumed", response=ScheduleInfo, tag="schedules")
    def post(self, sid: str) -> None:
        self.reply(self.info(self.trio.schedules.pause(sid)))


class ScheduleResumeHandler(_Schedule):
    @operation(
        "Resume a schedule from its next fire after now (fires missed while paused are not made up)",
        response=ScheduleInfo,
        tag="schedules",
    )
    def post(self, sid: str) -> None:
        self.reply(self.info(self.trio.schedules.resume(sid)))

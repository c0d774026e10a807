"""Sweeps (native dialect): adaptive search over a script's config on Optuna; see services/sweeps.py."""

from __future__ import annotations

from ..schemas.sweeps import (
    EnqueueBody,
    ImportancesReply,
    ResumeBody,
    SpacePreviewReply,
    SpacePreviewRequest,
    StudyRefReply,
    SweepCreate,
    SweepInfo,
    SweepList,
    SweepSummary,
)
from .base import TrioHandler, operation


class _Sweep(TrioHandler):
    def info(self, name: str) -> SweepInfo:
        detail = self.trio.sweeps.detail(name)
        return SweepInfo.of(detail.sweep, detail.trials, detail.best)


class SweepsHandler(_Sweep):
    @operation("Sweeps, oldest first", response=SweepList, tag="sweeps")
    def get(self) -> None:
        items = [SweepSummary.of(d.sweep, d.trials, d.best) for d in self.trio.sweeps.details()]
        self.reply(SweepList(items=items))

    @operation(
        "Start a sweep: a search space, an objective and a budget, run as trials of a script",
        request=SweepCreate,
        response=SweepInfo,
        status=201,
        tag="sweeps",
    )
    def post(self) -> None:
        body = self.parse_body(SweepCreate)
        sweep = self.trio.sweeps.create(self.username, body.name, body.spec())
        self.reply(self.info(sweep.id), 201)


class SweepPreviewHandler(TrioHandler):
    @operation(
        "What a space searches, and a few configs a trial could get",
        request=SpacePreviewRequest,
        response=SpacePreviewReply,
        tag="sweeps",
    )
    def post(self) -> None:
        preview = self.trio.sweeps.preview(self.parse_body(SpacePreviewRequest).space)
        self.reply(SpacePreviewReply(parameters=preview.parameters, samples=preview.samples))


class SweepHandler(_Sweep):
    @operation("A sweep with its trials and its best trial", response=SweepInfo, tag="sweeps")
    def get(self, name: str) -> None:
        self.reply(self.info(name))

    @operation(
        "Delete a sweep, its study and its trials' tasks (running ones killed)", status=204, tag="sweeps"
    )
    def delete(self, name: str) -> None:
        self.trio.sweeps.delete(name)
        self.set_status(204)
        self.finish()


class SweepPauseHandler(_Sweep):
    @operation("Pause: running trials finish, no new one starts", response=SweepInfo, tag="sweeps")
    def post(self, name: str) -> None:
        self.reply(self.info(self.trio.sweeps.pause(name).id))


class SweepResumeHandler(_Sweep):
    @operation(
        "Resume a paused sweep, or go on with a finished one (add_trials grows its budget)",
        request=ResumeBody,
        response=SweepInfo,
        tag="sweeps",
    )
    def post(self, name: str) -> None:
        body = self.parse_body(ResumeBody)
        self.reply(self.info(self.trio.sweeps.resume(name, body.add_trials).id))


class SweepStopHandler(_Sweep):
    @operation("Stop: no new trial, running ones cancelled", response=SweepInfo, tag="sweeps")
    def post(self, name: str) -> None:
        self.reply(self.info(self.trio.sweeps.stop(name).id))


class SweepTrialsHandler(_Sweep):
    @operation(
        "Enqueue a hand-written config as the next trial (Optuna's enqueue_trial)",
        request=EnqueueBody,
        response=SweepInfo,
        status=202,
        tag="sweeps",
    )
    def post(self, name: str) -> None:
        sweep = self.trio.sweeps.enqueue(name, self.parse_body(EnqueueBody).params)
        self.reply(self.info(sweep.id), 202)


class SweepImportancesHandler(TrioHandler):
    @operation(
        "The searched parameters' importances to the objective", response=ImportancesReply, tag="sweeps"
    )
    def get(self, name: str) -> None:
        self.reply(ImportancesReply(importances=self.trio.sweeps.importances(name)))


class SweepStudyHandler(TrioHandler):
    @operation(
        "Where the sweep's Optuna study is: optuna.load_study(study_name=..., storage=...)",
        response=StudyRefReply,
        tag="sweeps",
    )
    def get(self, name: str) -> None:
        ref = self.trio.sweeps.study_ref(name)
        self.reply(StudyRefReply(storage=ref.storage, study_name=ref.study_name))

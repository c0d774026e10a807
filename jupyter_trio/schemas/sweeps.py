"""Wire types of the sweeps routes (``/trio/api/sweeps``, native dialect)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .. import domain
from .native import Request

SweepStateName = Literal["running", "paused", "completed", "stopped", "failed"]
TrialStateName = Literal["running", "complete", "pruned", "fail"]


class ObjectiveBody(Request):
    metric: str = Field(min_length=1, max_length=200, description="a series the script tracks (trio.track)")
    direction: Literal["minimize", "maximize"] = "minimize"
    value: Literal["last", "best"] = Field(
        "last", description="a trial's value: the series' last or best point"
    )


class SweepCreate(Request):
    name: str = Field(description="the sweep's name: also its Optuna study's, and its trials' task prefix")
    script_path: str = Field(
        "", description="the Python script each trial runs, relative to the server's root (or project_id)"
    )
    project_id: str = Field(
        "",
        description="a training sweep: each trial is a train task of this project, the space holds its "
        "training parameters (learning_rate, batch_size, num_epochs, model...)",
    )
    space: str | dict[str, Any] = Field(
        description="the config template (YAML text or an object): values such as loguniform(1e-5, 1e-1), "
        "int(2, 8), uniform(0, 0.5), choice(adam | sgd) are searched, the others are fixed"
    )
    objective: ObjectiveBody
    n_trials: int = Field(20, ge=1, le=100_000)
    parallel: int = Field(1, ge=1, le=1024, description="trials at once")
    gpus: int = Field(0, ge=0, le=1024, description="GPUs per trial")
    timeout: float | None = Field(None, gt=0, le=10**9, description="seconds after which no trial is asked")
    sampler: Literal["tpe", "random", "grid", "cmaes", "gp"] = "tpe"
    pruner: Literal["median", "asha", "hyperband", "none"] = "median"
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    stop_after_failures: int = Field(5, ge=1, le=100_000, description="the first N trials all fail: stop")

    def spec(self) -> domain.SweepSpec:
        return domain.SweepSpec(
            space=self.space,
            objective=domain.Objective(self.objective.metric, self.objective.direction, self.objective.value),
            script_path=self.script_path,
            project_id=self.project_id,
            n_trials=self.n_trials,
            parallel=self.parallel,
            gpus=self.gpus,
            timeout_s=self.timeout,
            sampler=self.sampler,
            pruner=self.pruner,
            seed=self.seed,
            stop_after_failures=self.stop_after_failures,
        )


class SpacePreviewRequest(Request):
    space: str | dict[str, Any]


class SpacePreviewReply(BaseModel):
    parameters: dict[str, str] = Field(
        description="each searched parameter (dotted name) and its distribution"
    )
    samples: list[dict[str, Any]] = Field(description="configs a trial could get")


class TrialInfo(BaseModel):
    number: int
    state: TrialStateName
    value: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    task: str = Field(description="the id of the task that runs it")

    @classmethod
    def of(cls, trial: domain.SweepTrial) -> TrialInfo:
        return cls(
            number=trial.number, state=trial.state, value=trial.value, params=trial.params, task=trial.task_id
        )


class BestTrial(BaseModel):
    number: int
    value: float
    params: dict[str, Any] = Field(default_factory=dict)


class SweepSummary(BaseModel):
    id: str
    name: str
    owner: str
    state: SweepStateName
    message: str = ""
    metric: str
    direction: Literal["minimize", "maximize"]
    n_trials: int
    parallel: int
    sampler: str
    pruner: str
    trials_done: int = Field(description="trials that ended (complete, pruned or failed)")
    best: BestTrial | None = None
    created_at: float
    updated_at: float

    @classmethod
    def of(cls, sweep: domain.Sweep, trials: list[domain.SweepTrial], best: domain.SweepTrial | None) -> Any:
        spec = sweep.spec
        return cls(
            id=sweep.id,
            name=sweep.name,
            owner=sweep.owner,
            state=sweep.state,
            message=sweep.message,
            metric=spec.objective.metric,
            direction=spec.objective.direction,
            n_trials=spec.n_trials,
            parallel=spec.parallel,
            sampler=spec.sampler,
            pruner=spec.pruner,
            trials_done=sum(1 for t in trials if t.state != domain.TrialState.RUNNING),
            best=BestTrial(number=best.number, value=best.value, params=best.params) if best else None,
            created_at=sweep.created_at,
            updated_at=sweep.updated_at,
        )


class SweepInfo(SweepSummary):
    script_path: str
    project_id: str = ""
    trials: list[TrialInfo]

    @classmethod
    def of(cls, sweep: domain.Sweep, trials: list[domain.SweepTrial], best: domain.SweepTrial | None) -> Any:
        summary = SweepSummary.of(sweep, trials, best)
        return cls(
            **summary.model_dump(),
            script_path=sweep.spec.script_path,
            project_id=sweep.spec.project_id,
            trials=[TrialInfo.of(t) for t in trials],
        )


class SweepList(BaseModel):
    items: list[SweepSummary]


class ResumeBody(Request):
    add_trials: int = Field(0, ge=0, le=100_000, description="grow the budget by this many trials")


class EnqueueBody(Request):
    params: dict[str, Any] = Field(description="a value for each searched parameter (dotted names)")


class ImportancesReply(BaseModel):
    importances: dict[str, float] = Field(
        description="each searched parameter's importance (Optuna's fANOVA), highest first; empty before "
        "two trials completed"
    )


class StudyRefReply(BaseModel):
    storage: str = Field(description="Optuna's storage URL on the server's machine")
    study_name: str

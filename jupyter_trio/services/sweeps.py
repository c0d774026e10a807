"""Sweeps: adaptive hyperparameter search on Optuna, run as trials that are ordinary tasks of the runner.

A sweep's study lives in Optuna's own storage (an RDB on ``<workspace>/sweeps/optuna.db``), so
``optuna.load_study`` and optuna-dashboard open it unchanged. The server drives every running sweep from
its event loop (``tick``): it asks the study for trials while fewer than ``parallel`` run and the budget
allows, makes each a script task whose config is the space's template with the trial's params (the script
reads them with ``trio.read()``), reports what the task tracks under the objective's name as the trial's
intermediate values, stops a trial its pruner prunes (``trio.should_prune()`` turns true, then the cancel
path), and tells the study each ended trial's value or state. The store's ``sweep_trials`` rows say which
task runs which trial; a trial is told at most once (``skip_if_finished``), so a server killed mid-sweep
re-attaches and goes on.

A sweep whose sampler does not learn from results (random, grid) asks one trial ahead: its task waits
*held* (made, not queued: "pending") while ``parallel`` trials run, and the moment one of them ends the
runner's own end-of-run hook queues it, so it starts in the same tick, before the study is told about the
ended trial and asked for the next one (bench/sweep_bench.py: that tell and ask were most of a short
trial's turn-around). An adaptive sampler (TPE, CMA-ES, GP) asks when a slot is free, knowing every result.

Runs in the server. Optuna is imported here only, when a sweep is made or driven.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from ..domain import (
    JSONObject,
    NewTask,
    Objective,
    RunState,
    ScheduledRun,
    Sweep,
    SweepSpec,
    SweepState,
    SweepTrial,
    Task,
    TaskKind,
    TaskState,
    TrialState,
)
from ..errors import Conflict, NotFound, ValidationFailed
from ..runner.service import Runner
from ..store import Store
from ..store.metrics import MetricsReader
from ..store.task_files import materialize
from ..vocabulary import ACTIVE
from .sweep_space import Space, describe, parse_space
from .tasks import TaskService, check_name
from .training import TrainingService
from .workspaces import ScriptWorkspaces

log = logging.getLogger(__name__)

SAMPLERS = ("tpe", "random", "grid", "cmaes", "gp")
PRUNERS = ("median", "asha", "hyperband", "none")
DIRECTIONS = ("minimize", "maximize")
VALUES = ("last", "best")
PRUNE_MARKER = "should_prune"  # in the run folder: trio.should_prune() turns true (tracking/prune.py)
PRUNE_GRACE_S = 2.0  # a pruned trial's script may exit by itself this long before it is cancelled
MAX_TRIALS = 100_000
ASK_AHEAD_SAMPLERS = ("random", "grid")  # their next config does not depend on the trials' results


@dataclass(frozen=True, slots=True)
class SweepDetail:
    """A sweep with its trials and its best trial so far."""

    sweep: Sweep
    trials: list[SweepTrial]
    best: SweepTrial | None


@dataclass(frozen=True, slots=True)
class SpacePreview:
    """What a space searches, as the space's syntax, and a few configs a trial could get."""

    parameters: dict[str, str]
    samples: list[JSONObject]


@dataclass(frozen=True, slots=True)
class StudyRef:
    """What ``optuna.load_study(study_name=..., storage=...)`` opens on the server's machine."""

    storage: str
    study_name: str


class SweepService:
    def __init__(
        self,
        store: Store,
        runner: Runner,
        workspaces: ScriptWorkspaces,
        metrics: MetricsReader,
        tasks: TaskService,
        training: TrainingService | None = None,
        storage_url: str | None = None,
    ):
        self.store = store
        self.runner = runner
        self.tasks = tasks  # deletes a sweep's trials as any task is deleted
        self.workspaces = workspaces
        self.metrics = metrics
        self.training = training  # makes the trials of a training sweep
        folder = store.root / "sweeps"
        self.storage_url = storage_url or f"sqlite:///{folder / 'optuna.db'}"
        self._storage: Any = None
        self._studies: dict[str, Any] = {}  # sweep id -> optuna.Study with its sampler and pruner
        self._reported: dict[tuple[str, int], int] = {}  # (sweep id, trial number) -> last step reported
        self._pruned_at: dict[tuple[str, int], float] = {}  # when the pruner said stop (grace period)
        self._trial_ids: dict[tuple[str, int], int] = {}  # (sweep id, trial number) -> Optuna's trial id
        self._unattributed: set[tuple[str, int]] = set()  # trials whose "task" user attribute is not set yet
        self._spaces: dict[str, Space] = {}  # sweep id -> its parsed space

    # ---- Optuna
    @property
    def storage(self) -> Any:
        if self._storage is None:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            if self.storage_url.startswith("sqlite:///"):
                Path(self.storage_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                self._storage = optuna.storages.RDBStorage(self.storage_url, engine_kwargs=_SQLITE_ENGINE)
                _wal(self._storage)
            else:
                self._storage = optuna.storages.RDBStorage(self.storage_url)
        return self._storage

    def _forget(self, sweep_id: str) -> None:
        """Drop what is kept of a sweep that no longer runs (reloaded when it runs again)."""
        self._studies.pop(sweep_id, None)
        self._spaces.pop(sweep_id, None)

    def _space(self, sweep: Sweep) -> Space:
        """The sweep's parsed space, parsed once a sweep (its spec never changes)."""
        space = self._spaces.get(sweep.id)
        if space is None:
            space = self._spaces[sweep.id] = parse_space(sweep.spec.space)
        return space

    def _study(self, sweep: Sweep) -> Any:
        study = self._studies.get(sweep.id)
        if study is None:
            import optuna

            space = self._space(sweep)
            spec = sweep.spec
            if spec.seed is not None:  # a reloaded study (resume, restart) must not replay the first trials
                spec = replace(spec, seed=spec.seed + len(self.store.sweeps.trials(sweep.id)))
            study = optuna.load_study(
                study_name=sweep.study_name,
                storage=self.storage,
                sampler=_sampler(spec, space),
                pruner=_pruner(sweep.spec.pruner),
            )
            self._studies[sweep.id] = study
        return study

    # ---- requests
    def create(self, owner: str, name: str, spec: SweepSpec) -> Sweep:
        """Check the spec, make the study and the sweep; the next tick asks for its first trials."""
        import optuna

        check_name(name, "sweep name")
        if self.store.sweeps.get(name) is not None:
            raise Conflict(f"a sweep named {name!r} already exists")
        spec = self._checked(spec)
        space = parse_space(spec.space, self.workspaces.max_yaml_nodes)
        sampler = _sampler(spec, space)
        try:
            optuna.delete_study(study_name=name, storage=self.storage)  # left by a sweep deleted mid-way
        except KeyError:
            pass
        optuna.create_study(
            study_name=name,
            storage=self.storage,
            direction=spec.objective.direction,
            sampler=sampler,
            pruner=_pruner(spec.pruner),
        )
        sweep = self.store.sweeps.create(name, owner, spec, study_name=name)
        self.runner.wake()
        return sweep

    def _checked(self, spec: SweepSpec) -> SweepSpec:
        objective = spec.objective
        if not isinstance(objective.metric, str) or not objective.metric.strip():
            raise ValidationFailed("objective.metric: the name of a series the script tracks")
        if objective.direction not in DIRECTIONS:
            raise ValidationFailed(f"objective.direction: one of {', '.join(DIRECTIONS)}")
        if objective.value not in VALUES:
            raise ValidationFailed(f"objective.value: one of {', '.join(VALUES)}")
        if spec.sampler not in SAMPLERS:
            raise ValidationFailed(f"sampler: one of {', '.join(SAMPLERS)}")
        if spec.pruner not in PRUNERS:
            raise ValidationFailed(f"pruner: one of {', '.join(PRUNERS)}")
        if not 1 <= spec.n_trials <= MAX_TRIALS:
            raise ValidationFailed(f"n_trials: between 1 and {MAX_TRIALS}")
        if spec.parallel < 1:
            raise ValidationFailed("parallel: 1 or more trials at once")
        limit = self.runner.gpu_source.max_gpus()
        if spec.gpus < 0 or (limit is not None and spec.gpus > limit):
            raise ValidationFailed(f"gpus: between 0 and {limit} per trial on this server")
        if spec.timeout_s is not None and not spec.timeout_s > 0:
            raise ValidationFailed("timeout: seconds above 0, or none")
        objective = replace(objective, metric=objective.metric.strip())
        if bool(spec.script_path) == bool(spec.project_id):
            raise ValidationFailed(
                "give script_path (a script's trials) or project_id (training runs), not both"
            )
        if spec.project_id:
            return replace(spec, objective=objective, project_id=self._training_project(spec))
        return replace(
            spec, script_path=self.workspaces.script_relpath(spec.script_path), objective=objective
        )

    def _training_project(self, spec: SweepSpec) -> str:
        """A training sweep's project; a config sampled from the space must be valid training parameters
        of its task type (checked now, not at the first trial)."""
        from ..trainers.params import validate

        if self.training is None:
            raise ValidationFailed("project_id: this server does not train")
        project = self.training.projects.project(spec.project_id)
        validate(project.project_type, self.preview(spec.space, count=1).samples[0])
        return project.id

    def preview(self, space: str | JSONObject, count: int = 3) -> SpacePreview:
        """The space's searched parameters and ``count`` configs sampled at random from it."""
        import optuna

        parsed = parse_space(space, self.workspaces.max_yaml_nodes)
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        samples = [parsed.config(study.ask(parsed.distributions).params) for _ in range(count)]
        return SpacePreview({name: describe(d) for name, d in parsed.distributions.items()}, samples)

    def get(self, name: str) -> Sweep:
        sweep = self.store.sweeps.get(name)
        if sweep is None:
            raise NotFound(f"no such sweep: {name!r}")
        return sweep

    def list(self, owner: str | None = None) -> list[Sweep]:
        return self.store.sweeps.list(owner)

    def detail(self, name: str) -> SweepDetail:
        return self._detail(self.get(name))

    def details(self, owner: str | None = None) -> list[SweepDetail]:
        """Every sweep (of ``owner``), oldest first, with its trials and best trial."""
        return [self._detail(sweep) for sweep in self.list(owner)]

    def _detail(self, sweep: Sweep) -> SweepDetail:
        trials = self.store.sweeps.trials(sweep.id)
        return SweepDetail(sweep, trials, sweep.spec.objective.best(trials))

    def study_ref(self, name: str) -> StudyRef:
        sweep = self.get(name)
        return StudyRef(self.storage_url, sweep.study_name)

    def importances(self, name: str) -> dict[str, float]:
        """Each searched parameter's importance to the objective (Optuna's default evaluator, fANOVA),
        highest first; empty before two trials completed."""
        import optuna

        sweep = self.get(name)
        study = self._study(sweep)
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if len(complete) < 2:
            return {}
        try:
            found = optuna.importance.get_param_importances(study)
        except (RuntimeError, ValueError):  # e.g. every completed trial has the same params
            return {}
        return {name: float(value) for name, value in found.items()}

    def pause(self, name: str) -> Sweep:
        sweep = self.get(name)
        if sweep.state != SweepState.RUNNING:
            raise Conflict(f"sweep {name!r} is {sweep.state}: only a running sweep pauses")
        self.store.sweeps.update(sweep.id, state=SweepState.PAUSED)
        return self.get(sweep.id)

    def resume(self, name: str, add_trials: int = 0) -> Sweep:
        """Ask for trials again; ``add_trials`` grows the budget (a completed or stopped sweep goes on)."""
        sweep = self.get(name)
        if add_trials < 0:
            raise ValidationFailed("add_trials: 0 or more")
        if sweep.state == SweepState.RUNNING and not add_trials:
            raise Conflict(f"sweep {name!r} is already running")
        spec = sweep.spec
        if add_trials:
            spec = replace(spec, n_trials=min(MAX_TRIALS, spec.n_trials + add_trials))
        self.store.sweeps.update(sweep.id, state=SweepState.RUNNING, spec=spec, message="")
        self._forget(sweep.id)
        self.runner.wake()
        return self.get(sweep.id)

    def stop(self, name: str) -> Sweep:
        """Ask for no more trials and cancel the running ones (told to the study as failed)."""
        sweep = self.get(name)
        if sweep.state not in (SweepState.RUNNING, SweepState.PAUSED):
            raise Conflict(f"sweep {name!r} has ended ({sweep.state})")
        self._end(sweep, SweepState.STOPPED, "stopped by its user")
        return self.get(sweep.id)

    def enqueue(self, name: str, params: JSONObject) -> Sweep:
        """A hand-written config becomes the next trial (Optuna's ``enqueue_trial``), inside the budget."""
        sweep = self.get(name)
        space = parse_space(sweep.spec.space)
        unknown = sorted(set(params) - set(space.distributions))
        if unknown:
            raise ValidationFailed(
                f"params: {', '.join(unknown)} not in the space ({', '.join(space.distributions)})"
            )
        for key, value in params.items():
            dist = space.distributions[key]
            if not _within(dist, value):
                raise ValidationFailed(f"params: {key}={value!r} is outside {describe(dist)}")
        self._study(sweep).enqueue_trial(params, skip_if_exists=False)
        self.runner.wake()
        return sweep

    def delete(self, name: str) -> None:
        """The sweep, its study and its trials' tasks (running ones are killed)."""
        import optuna

        sweep = self.get(name)
        for trial in self.store.sweeps.trials(sweep.id):
            if self.store.tasks.get(trial.task_id) is None:
                continue
            try:  # as DELETE /tasks/{name}?force=true: stopped, and a train task's child jobs with it
                self.tasks.delete(trial.task_id, force=True)
            except NotFound:
                pass
        self.store.sweeps.delete(sweep.id)
        self._forget(sweep.id)
        try:
            optuna.delete_study(study_name=sweep.study_name, storage=self.storage)
        except KeyError:
            pass

    # ---- the driver
    def tick(self) -> None:
        """Drive every running or paused sweep one step; one sweep's failure never stops the others."""
        for sweep in self.store.sweeps.list(states=(SweepState.RUNNING, SweepState.PAUSED)):
            try:
                self._drive(sweep)
            except Exception as exc:  # a broken sweep fails with the reason, the rest go on
                log.exception("sweep %s failed", sweep.name)
                self._end(sweep, SweepState.FAILED, f"the sweep's driver failed: {exc}")

    def _drive(self, sweep: Sweep) -> None:
        """Follow the running trials, then start held ones and ask for new ones while the budget and
        ``parallel`` allow. Reads only the running trials and the counts: a tick costs the same at the 10th
        trial and the 2,000th."""
        study = self._study(sweep)
        running, held = 0, []
        for trial in self.store.sweeps.trials(sweep.id, states=(TrialState.RUNNING,)):
            match self._follow(sweep, study, trial):
                case "running":
                    running += 1
                case "held":
                    held.append(trial)
        counts = self.store.sweeps.trial_counts(sweep.id)
        if self._first_trials_failed(sweep, counts):
            return
        timed_out = self._timed_out(sweep)
        asked, budget = sum(counts.values()), self._budget(sweep)
        if sweep.state == SweepState.RUNNING and not timed_out:
            while held and running < sweep.spec.parallel:
                self._release(held.pop(0))
                running += 1
            while asked < budget and running < sweep.spec.parallel:
                self._ask(sweep, study)
                asked += 1
                running += 1
            if not held and asked < budget and self._asks_ahead(sweep):
                self._ask(sweep, study, hold=True)
                asked += 1
                return  # the held trial keeps the sweep going
        elif sweep.state == SweepState.RUNNING and held:  # out of time: a held trial never starts
            for trial in held:
                self._drop(sweep, study, trial, "the sweep's time budget ran out before it started")
            held = []
        if sweep.state == SweepState.RUNNING and running == 0 and not held and (asked >= budget or timed_out):
            why = "its time budget ran out" if timed_out and asked < budget else ""
            if budget < sweep.spec.n_trials:
                why = f"the grid has {budget} points: each was tried once"
            self.store.sweeps.update(sweep.id, state=SweepState.COMPLETED, message=why)
            self._forget(sweep.id)

    def _timed_out(self, sweep: Sweep) -> bool:
        return sweep.spec.timeout_s is not None and time.time() - sweep.created_at > sweep.spec.timeout_s

    def _asks_ahead(self, sweep: Sweep) -> bool:
        """A script sweep whose sampler does not learn from results keeps one trial held ahead."""
        return sweep.spec.sampler in ASK_AHEAD_SAMPLERS and not sweep.spec.project_id

    def trial_ended(self, item: ScheduledRun) -> None:
        """The runner's end-of-run hook: a trial's run ended, so its running sweep's held trial is queued
        now, and the runner starts it in this same tick (before the study hears of the ended trial)."""
        trial = self.store.sweeps.trial_of_task(item.run.task_id)
        if trial is None or trial.state != TrialState.RUNNING:
            return
        sweep = self.store.sweeps.get(trial.sweep_id)
        if sweep is None or sweep.state != SweepState.RUNNING or self._timed_out(sweep):
            return
        held = self.store.sweeps.held_trials(sweep.id)
        if held:
            self._release(held[0], wake=False)  # the runner places its queue right after its hooks

    def _release(self, trial: SweepTrial, wake: bool = True) -> None:
        """Queue a held trial's task (its first run)."""
        with self.store.db.transaction() as conn:
            self.store.tasks.add_runs(conn, [trial.task_id])
        if wake:
            self.runner.wake()

    def _drop(self, sweep: Sweep, study: Any, trial: SweepTrial, why: str) -> None:
        """A held trial that will not run: its task and row go, and the study keeps it as failed, saying
        why (Optuna cannot delete a trial)."""
        try:
            self.storage.set_trial_user_attr(self._trial_id(sweep, study, trial.number), "not_run", why)
        except RuntimeError:  # told already
            pass
        self._tell(sweep, study, trial, TrialState.FAIL, None)
        self.store.sweeps.delete_trial(sweep.id, trial.number)
        try:
            self.tasks.delete(trial.task_id, force=True)
        except NotFound:
            pass

    def _budget(self, sweep: Sweep) -> int:
        """How many trials to ask for: ``n_trials``, or the grid's size when that is smaller."""
        if sweep.spec.sampler != "grid":
            return sweep.spec.n_trials
        return min(sweep.spec.n_trials, math.prod(len(v) for v in self._space(sweep).grid().values()))

    def _ask(self, sweep: Sweep, study: Any, hold: bool = False) -> None:
        """Ask the study for a trial and make its task: queued, or ``hold``: made and left pending until a
        slot frees (``trial_ended``)."""
        space = self._space(sweep)
        trial = study.ask(space.distributions)
        key = (sweep.id, trial.number)
        # known now, so the trial's first follow queries neither its id nor its (empty) intermediate values
        self._trial_ids[key], self._reported[key] = trial._trial_id, -1
        self._unattributed.add(key)
        config = space.config(trial.params)
        if sweep.spec.project_id:
            self._ask_training(sweep, trial, config)
            return
        with self.store.db.transaction() as conn:
            [task_id] = self.store.tasks.insert_many(
                conn,
                [
                    NewTask(
                        name=f"{sweep.name}-{trial.number:04d}",
                        kind=TaskKind.SCRIPT,
                        owner=sweep.owner,
                        config=config,
                        script_path=sweep.spec.script_path,
                        gpu_count=sweep.spec.gpus,
                    )
                ],
            )
            if not hold:
                self.store.tasks.add_runs(conn, [task_id])
            self.store.sweeps.add_trial(conn, sweep.id, trial.number, task_id, dict(trial.params))
        materialize(self.store.layout, task_id, TaskKind.SCRIPT, config, "")
        if not hold:
            self.runner.wake()

    def _ask_training(self, sweep: Sweep, trial: Any, params: JSONObject) -> None:
        """A training sweep's trial: a train task of its project with the sampled training parameters."""
        assert self.training is not None
        description = f"sweep {sweep.name}, trial {trial.number}"
        task = self.training.create(
            sweep.owner,
            sweep.spec.project_id,
            params,
            description,
            also=lambda conn, task_id: self.store.sweeps.add_trial(
                conn, sweep.id, trial.number, task_id, dict(trial.params)
            ),
        )
        self.training.start(task.id)

    def _follow(self, sweep: Sweep, study: Any, trial: SweepTrial) -> Literal["running", "held", "ended"]:
        """Report what a running trial tracked, prune it when its pruner says so, and tell the study once
        its task has ended; "held": asked ahead, its task not queued yet."""
        import optuna

        task = self.store.tasks.get(trial.task_id)
        key = (sweep.id, trial.number)
        trial_id = self._trial_id(sweep, study, trial.number)
        if key in self._unattributed:
            self._unattributed.discard(key)
            try:  # optuna-dashboard shows which task ran it (set here: off the path from ask to start)
                self.storage.set_trial_user_attr(trial_id, "task", trial.task_id)
            except RuntimeError:  # told already (a server stopped between telling and recording it)
                pass
        if task is None:  # its task was deleted under it
            self._tell(sweep, study, trial, TrialState.FAIL, None)
            return "ended"
        if task.status == TaskState.PENDING:
            return "held"
        run_dir = self.store.layout.run_dir(task.id, task.run_index) if task.run_index else None
        reported = run_dir is not None and run_dir.is_dir() and self._report(key, trial_id, sweep, run_dir)
        if task.status in ACTIVE:
            if reported and not trial.prune_requested and sweep.spec.pruner != "none":
                # a Trial reads its row (params, values) from the storage when made: only after a new report
                if optuna.trial.Trial(study, trial_id).should_prune():
                    self.store.sweeps.set_trial(sweep.id, trial.number, prune_requested=True)
                    if run_dir is not None:
                        run_dir.mkdir(parents=True, exist_ok=True)
                        (run_dir / PRUNE_MARKER).touch()
                    self._pruned_at[key] = time.monotonic()
                    if task.status == "queued":
                        self.runner.cancel(task)
            elif trial.prune_requested and task.status == "running":
                asked_at = self._pruned_at.setdefault(key, time.monotonic() - PRUNE_GRACE_S)
                if time.monotonic() - asked_at >= PRUNE_GRACE_S and not self._cancel_requested(task):
                    self.runner.cancel(task)
            return "running"
        self._finish(sweep, study, trial, task, run_dir)
        return "ended"

    def _trial_id(self, sweep: Sweep, study: Any, number: int) -> int:
        """Optuna's id of a trial: known from the ask, else looked up once (a trial an earlier server asked
        for, whose "task" user attribute is then set at its next follow)."""
        key = (sweep.id, number)
        trial_id = self._trial_ids.get(key)
        if trial_id is None:
            trial_id = self._trial_ids[key] = self.storage.get_trial_id_from_study_id_trial_number(
                study._study_id, number
            )
            self._unattributed.add(key)
        return trial_id

    def _cancel_requested(self, task: Task) -> bool:
        run = self.store.tasks.run(task.id, task.run_index)
        return run is not None and run.cancel_requested_at is not None

    def _report(self, key: tuple[str, int], trial_id: int, sweep: Sweep, run_dir: Path) -> bool:
        """Report the objective's points tracked since the last report (each step once); True if any."""
        if key not in self._reported:  # first look since this server started: what the study already has
            known = self.storage.get_trial(trial_id).intermediate_values
            self._reported[key] = max(known, default=-1)
        series = self.metrics.series(run_dir, sweep.spec.objective.metric, since_step=self._reported[key])
        if series is None:
            return False
        reported = False
        for step, value in zip(series.steps, series.values):
            if step > self._reported[key] and step >= 0 and value is not None and math.isfinite(value):
                self.storage.set_trial_intermediate_value(trial_id, int(step), float(value))  # Trial.report
                self._reported[key] = step
                reported = True
        return reported

    def _finish(self, sweep: Sweep, study: Any, trial: SweepTrial, task: Task, run_dir: Path | None) -> None:
        if trial.prune_requested or task.status == "pruned":
            if task.run_index and task.status != "pruned":
                self.store.tasks.set_run(task.id, task.run_index, status=RunState.PRUNED)
            self._tell(sweep, study, trial, TrialState.PRUNED, None)
            return
        if task.status != "completed":
            self._tell(sweep, study, trial, TrialState.FAIL, None)
            return
        value = self._objective(sweep.spec.objective, run_dir)
        if value is None:
            message = f"objective `{sweep.spec.objective.metric}` was never tracked"
            self.store.tasks.set_run(task.id, task.run_index, status=RunState.FAILED, message=message)
            self._tell(sweep, study, trial, TrialState.FAIL, None)
            return
        self._tell(sweep, study, trial, TrialState.COMPLETE, value)

    def _objective(self, objective: Objective, run_dir: Path | None) -> float | None:
        series = self.metrics.series(run_dir, objective.metric) if run_dir and run_dir.is_dir() else None
        values = [v for v in (series.values if series else []) if v is not None and math.isfinite(v)]
        if not values:
            return None
        if objective.value == "last":
            return float(values[-1])
        return float(min(values) if objective.direction == "minimize" else max(values))

    def _tell(
        self, sweep: Sweep, study: Any, trial: SweepTrial, state: TrialState, value: float | None
    ) -> None:
        import optuna

        optuna_state = {
            TrialState.COMPLETE: optuna.trial.TrialState.COMPLETE,
            TrialState.PRUNED: optuna.trial.TrialState.PRUNED,
            TrialState.FAIL: optuna.trial.TrialState.FAIL,
        }[state]
        try:
            if state == TrialState.COMPLETE:
                study.tell(trial.number, value, skip_if_finished=True)
            else:
                study.tell(trial.number, state=optuna_state, skip_if_finished=True)
        except RuntimeError as exc:
            # The grid sampler says its grid is done by calling study.stop(), which Optuna allows only
            # inside optimize(); the trial is stored all the same (Optuna stores it in a finally).
            if "Study.stop" not in str(exc):
                raise
        self.store.sweeps.set_trial(sweep.id, trial.number, state=state, value=value)
        self._reported.pop((sweep.id, trial.number), None)
        self._pruned_at.pop((sweep.id, trial.number), None)
        self._trial_ids.pop((sweep.id, trial.number), None)
        self._unattributed.discard((sweep.id, trial.number))

    def _first_trials_failed(self, sweep: Sweep, counts: dict[str, int]) -> bool:
        """The first ``stop_after_failures`` trials all failed: the sweep stops itself with the reason."""
        needed = sweep.spec.stop_after_failures
        if counts.get(TrialState.FAIL, 0) < needed or counts.get(TrialState.COMPLETE, 0):
            return False
        first = self.store.sweeps.trials(sweep.id, limit=needed)
        if any(t.state != TrialState.FAIL for t in first):
            return False
        last = self.store.tasks.get(first[-1].task_id)
        why = (last.failure_reason if last else None) or "see the trials' logs"
        self._end(sweep, SweepState.FAILED, f"its first {len(first)} trials failed; the last: {why}")
        return True

    def _end(self, sweep: Sweep, state: SweepState, message: str) -> None:
        study = self._study(sweep)
        for trial in self.store.sweeps.trials(sweep.id):
            if trial.state != TrialState.RUNNING:
                continue
            task = self.store.tasks.get(trial.task_id)
            if task is not None and task.status == TaskState.PENDING:
                self._drop(sweep, study, trial, f"held, never started: {message}")
                continue
            if task is not None and task.status in ACTIVE:
                self.runner.cancel(task)
            self._tell(sweep, study, trial, TrialState.FAIL, None)
        self.store.sweeps.update(sweep.id, state=state, message=message)
        self._forget(sweep.id)


# Optuna's SQLite storage written by the server's loop: a busy reader (optuna-dashboard, load_study in a
# kernel) makes a writer wait, not fail
_SQLITE_ENGINE = {"connect_args": {"timeout": 30}}


def _wal(storage: Any) -> None:
    """Write-ahead logging on Optuna's SQLite file: a trial's ask, reports and tell each commit, and in WAL
    mode with synchronous=NORMAL a commit does not wait for the disk; readers in other processes still see
    every committed trial."""
    from sqlalchemy import event

    @event.listens_for(storage.engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    storage.engine.dispose()  # the connections made before the listener: reopened with it


def _within(dist: Any, value: Any) -> bool:
    """``value`` is one ``dist`` can give (a choice of it, or a number in its range)."""
    choices = getattr(dist, "choices", None)
    if choices is not None:
        return value in choices
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if type(dist).__name__ == "IntDistribution" and not float(value).is_integer():
        return False
    return dist.low <= value <= dist.high


def _sampler(spec: SweepSpec, space: Space) -> Any:
    import optuna

    samplers = optuna.samplers
    match spec.sampler:
        case "tpe":
            return samplers.TPESampler(seed=spec.seed, constant_liar=spec.parallel > 1)
        case "random":
            return samplers.RandomSampler(seed=spec.seed)
        case "grid":
            return samplers.GridSampler(space.grid(), seed=spec.seed)
        case "cmaes":
            try:
                import cmaes  # noqa: F401
            except ImportError:
                raise ValidationFailed("sampler: cmaes needs the cmaes package on the server") from None
            return samplers.CmaEsSampler(seed=spec.seed)
        case "gp":
            try:
                import scipy  # noqa: F401
                import torch  # noqa: F401
            except ImportError:
                raise ValidationFailed("sampler: gp needs torch and scipy on the server") from None
            return samplers.GPSampler(seed=spec.seed)
    raise ValidationFailed(f"sampler: one of {', '.join(SAMPLERS)}")


def _pruner(name: str) -> Any:
    import optuna

    pruners = optuna.pruners
    match name:
        case "median":
            return pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
        case "asha":
            return pruners.SuccessiveHalvingPruner()
        case "hyperband":
            return pruners.HyperbandPruner()
        case "none":
            return pruners.NopPruner()
    raise ValidationFailed(f"pruner: one of {', '.join(PRUNERS)}")

/**
 * The sidebar's state: tasks, datasets, sweeps and GPUs as the REST lists gave them, kept current by the
 * events channel. Pure TypeScript (no DOM, no JupyterLab at run time), so the jest tests drive it directly.
 */

import type { ScheduleInfo } from './notebookjobs';
import { ScheduleStore } from './schedules';
import type { IDataset, IEvent, IGpu, ISweep, ITask, SweepInfo, TrialInfo } from './wire';
import { sweepFromRest } from './wire';

export interface IGroups {
  running: ITask[];
  queued: ITask[];
  pending: ITask[];
  finished: ITask[];
}

type Listener = () => void;
/** A task as it was before a ``task`` event, and after. */
type TaskChange = (prev: ITask | undefined, next: ITask) => void;

export class TrioModel {
  readonly tasks = new Map<string, ITask>();
  readonly datasets = new Map<string, IDataset>();
  /** Sweeps by id. */
  readonly sweeps = new Map<string, ISweep>();
  /** The trials of the sweeps whose details were read (by sweep id), by number. */
  readonly sweepTrials = new Map<string, TrialInfo[]>();
  /** Schedules (cron) by id. */
  readonly schedules = new ScheduleStore();
  private _sweepRev = 0;
  gpus: IGpu[] = [];
  /** The id of the newest event applied: what a reconnect passes as ``since``. */
  lastEventId: number | null = null;
  private _listeners = new Set<Listener>();
  private _taskChanges = new Set<TaskChange>();
  private _filter = '';
  private _version = 0;
  /** The GPU cards' refresh setting: readings closer together than this are skipped. */
  gpuMinIntervalMs = 0;
  private _gpuAt = -Infinity;
  now: () => number = () => Date.now();
  /** More words the filter matches a task by: its state and kind as the user's language says them. */
  labelsOf: (t: ITask) => string = () => '';

  /** Called after every change (the React view re-renders on it). */
  subscribe(fn: Listener): () => void {
    this._listeners.add(fn);
    return () => this._listeners.delete(fn);
  }

  /**
   * Called with a task before and after each ``task`` event is applied (a run that ended is seen here: the
   * sidebar's listeners only see the state after).
   */
  onTaskChange(fn: TaskChange): () => void {
    this._taskChanges.add(fn);
    return () => this._taskChanges.delete(fn);
  }

  get version(): number {
    return this._version;
  }

  private _changed(): void {
    this._version++;
    for (const fn of this._listeners) {
      fn();
    }
  }

  /**
   * Replace everything with what the REST lists say (first load, and after a refetch). ``sweeps`` or
   * ``schedules`` undefined (a server that could not list them) keeps those as they were.
   */
  load(
    tasks: ITask[],
    datasets: IDataset[],
    lastEventId: number | null,
    sweeps?: ISweep[],
    schedules?: ScheduleInfo[]
  ): void {
    const progress = new Map<string, ITask>();
    for (const t of this.tasks.values()) {
      if (t.progress !== undefined) {
        progress.set(t.id, t);
      }
    }
    this.tasks.clear();
    for (const t of tasks) {
      const old = progress.get(t.id);
      this.tasks.set(
        t.id,
        old && old.run === t.run && t.status === 'running'
          ? {
              ...t,
              progress: old.progress,
              eta_s: old.eta_s,
              epoch: old.epoch,
              cell: old.cell,
              cells: old.cells
            }
          : t
      );
    }
    this.datasets.clear();
    for (const d of datasets) {
      this.datasets.set(d.id, d);
    }
    if (sweeps) {
      const pruned = new Map([...this.sweeps.values()].map(w => [w.id, w.pruned]));
      this.sweeps.clear();
      for (const w of sweeps) {
        this.sweeps.set(w.id, { pruned: pruned.get(w.id), ...w, rev: ++this._sweepRev });
      }
      for (const id of [...this.sweepTrials.keys()]) {
        if (!this.sweeps.has(id)) {
          this.sweepTrials.delete(id);
        }
      }
    }
    if (schedules) {
      this.schedules.load(schedules);
    }
    this.lastEventId = lastEventId;
    this._changed();
  }

  /**
   * Apply one event. Returns false for an event already applied (an id not newer than the last one),
   * so a replay after a reconnect can never apply something twice.
   */
  apply(event: IEvent): boolean {
    if (event.type === 'hello') {
      for (const p of event.progress ?? []) {
        this._mergeTask(p, true);
      }
      if (event.gpus) {
        this.gpus = event.gpus;
      }
      this._changed();
      return true;
    }
    if (event.id !== undefined) {
      if (this.lastEventId !== null && event.id <= this.lastEventId) {
        return false;
      }
      this.lastEventId = event.id;
    }
    switch (event.type) {
      case 'task':
        if (event.task) {
          const prev = this.tasks.get(event.task.id);
          const newRun = prev && event.task.run !== undefined && event.task.run !== prev.run;
          const ended = event.task.status && event.task.status !== 'running';
          this._mergeTask(event.task, false, newRun || !!ended);
          const next = this.tasks.get(event.task.id);
          if (next) {
            this._taskChanges.forEach(fn => fn(prev, next));
          }
        }
        break;
      case 'task.progress':
        if (event.task) {
          this._mergeTask(event.task, true);
        }
        break;
      case 'task.deleted':
        if (event.task) {
          this.tasks.delete(event.task.id);
        }
        break;
      case 'dataset':
        if (event.dataset) {
          const prev = this.datasets.get(event.dataset.id);
          const next = { ...(prev ?? {}), ...event.dataset } as IDataset;
          if (next.status !== 'copying') {
            delete next.progress;
          }
          this.datasets.set(event.dataset.id, next);
        }
        break;
      case 'dataset.progress':
        if (event.dataset) {
          const prev = this.datasets.get(event.dataset.id);
          if (prev) {
            this.datasets.set(prev.id, { ...prev, progress: event.dataset.progress });
          }
        }
        break;
      case 'dataset.deleted':
        if (event.dataset) {
          this.datasets.delete(event.dataset.id);
        }
        break;
      case 'sweep':
        if (event.sweep) {
          const prev = this.sweeps.get(event.sweep.id);
          if (!prev && !event.sweep.name) {
            return false;
          }
          const base: Partial<ISweep> = prev ?? {
            message: '',
            best: null,
            n_trials: 0,
            trials_done: 0,
            created_at: this.now() / 1000
          };
          // an event's best has no params: keep those of the same best trial
          const best =
            event.sweep.best && prev?.best && prev.best.number === event.sweep.best.number
              ? { ...prev.best, ...event.sweep.best }
              : event.sweep.best;
          const next = { ...base, ...event.sweep, rev: ++this._sweepRev } as ISweep;
          if (best !== undefined) {
            next.best = best;
          }
          this.sweeps.set(event.sweep.id, next);
        }
        break;
      case 'sweep.deleted':
        if (event.sweep) {
          this.sweeps.delete(event.sweep.id);
          this.sweepTrials.delete(event.sweep.id);
        }
        break;
      case 'schedule':
      case 'schedule.deleted':
        if (!this.schedules.apply(event)) {
          return false;
        }
        break;
      case 'gpus': {
        const now = this.now();
        if (now - this._gpuAt < this.gpuMinIntervalMs) {
          return true; // applied in the sense of "seen": the next reading replaces it anyway
        }
        this._gpuAt = now;
        this.gpus = event.gpus ?? [];
        break;
      }
      default:
        return false;
    }
    this._changed();
    return true;
  }

  private _mergeTask(
    patch: Partial<ITask> & { id: string },
    progressOnly: boolean,
    dropProgress = false
  ): void {
    const prev = this.tasks.get(patch.id);
    if (!prev) {
      if (progressOnly || !patch.name) {
        return; // progress of a task the lists did not show: the next task event brings it
      }
      this.tasks.set(patch.id, { gpus: [], pinned: false, run: 0, ...patch } as ITask);
      return;
    }
    if (progressOnly && patch.run !== undefined && patch.run !== prev.run) {
      return; // progress of an older run
    }
    const next: ITask = { ...prev, ...patch };
    if (dropProgress) {
      delete next.progress;
      delete next.eta_s;
      delete next.epoch;
      delete next.stage;
      delete next.cell;
      delete next.cells;
    }
    this.tasks.set(patch.id, next);
  }

  /** The search box: a case-insensitive substring of the name, kind or status. */
  set filter(text: string) {
    this._filter = text.trim().toLowerCase();
    this._changed();
  }

  get filter(): string {
    return this._filter;
  }

  matches(t: ITask): boolean {
    const f = this._filter;
    return (
      !f ||
      t.name.toLowerCase().includes(f) ||
      t.kind.toLowerCase().includes(f) ||
      t.status.includes(f) ||
      this.labelsOf(t).toLowerCase().includes(f)
    );
  }

  /**
   * Tasks by state: running (started first), queued (first come first), and the ``recent`` newest
   * not-yet-run and finished or failed ones. Child jobs (evaluate/export...) are listed under their training task by the
   * view, not here.
   */
  groups(recent = 50): IGroups {
    const running: ITask[] = [];
    const queued: ITask[] = [];
    const finished: ITask[] = [];
    const pending: ITask[] = [];
    for (const t of this.tasks.values()) {
      if (!this.matches(t)) {
        continue;
      }
      if (t.status === 'running') {
        running.push(t);
      } else if (t.status === 'queued') {
        queued.push(t);
      } else if (t.status === 'pending') {
        pending.push(t);
      } else {
        finished.push(t);
      }
    }
    running.sort((a, b) => (a.started_at ?? 0) - (b.started_at ?? 0));
    queued.sort((a, b) => a.created_at - b.created_at);
    finished.sort((a, b) => (b.ended_at ?? b.created_at) - (a.ended_at ?? a.created_at));
    pending.sort((a, b) => b.created_at - a.created_at);
    return { running, queued, pending: pending.slice(0, recent), finished: finished.slice(0, recent) };
  }

  /** The number on the sidebar's badge: jobs running or waiting. */
  get activeCount(): number {
    let n = 0;
    for (const t of this.tasks.values()) {
      if (t.status === 'running' || t.status === 'queued') {
        n++;
      }
    }
    return n;
  }

  childrenOf(taskId: string): ITask[] {
    return [...this.tasks.values()]
      .filter(t => t.parent_id === taskId)
      .sort((a, b) => a.created_at - b.created_at);
  }

  byName(name: string): ITask | undefined {
    for (const t of this.tasks.values()) {
      if (t.name === name) {
        return t;
      }
    }
    return undefined;
  }

  /**
   * A sweep's details as ``GET /trio/api/sweeps/{name}`` read them: its record (its ``rev`` left as it is,
   * so a view that reads on ``rev`` does not read again) and its trials.
   */
  setSweepDetail(info: SweepInfo): void {
    const prev = this.sweeps.get(info.id);
    const trials = [...info.trials].sort((a, b) => a.number - b.number);
    this.sweeps.set(info.id, {
      ...sweepFromRest(info, prev?.rev ?? ++this._sweepRev),
      trials: trials.length,
      pruned: trials.filter(t => t.state === 'pruned').length
    });
    this.sweepTrials.set(info.id, trials);
    this._changed();
  }

  sweepByName(name: string): ISweep | undefined {
    for (const w of this.sweeps.values()) {
      if (w.name === name) {
        return w;
      }
    }
    return undefined;
  }

  /** The schedules the filter matches (by task, cron or timezone), the next to fire first. */
  scheduleList(): ScheduleInfo[] {
    return this.schedules.list(this._filter);
  }

  /** The sweeps the filter matches (by name or state), newest first. */
  sweepList(): ISweep[] {
    const f = this._filter;
    return [...this.sweeps.values()]
      .filter(w => !f || w.name.toLowerCase().includes(f) || w.state.includes(f))
      .sort((a, b) => (b.created_at ?? 0) - (a.created_at ?? 0) || b.name.localeCompare(a.name));
  }
}

/**
 * The sidebar's state: tasks, datasets and GPUs as the REST lists gave them, kept current by the
 * events channel. Pure TypeScript (no DOM, no JupyterLab at run time: the translation bundle is passed
 * in), so the jest tests drive it directly.
 */

import type { TranslationBundle } from '@jupyterlab/translation';

export type TaskStatus =
  | 'pending'
  | 'queued'
  | 'running'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'interrupted';

export const ACTIVE: TaskStatus[] = ['queued', 'running'];

export interface ITask {
  id: string;
  name: string;
  kind: string;
  status: TaskStatus;
  run: number;
  gpus: number[];
  pinned: boolean;
  parent_id?: string | null;
  project_id?: string | null;
  exit_code?: number | null;
  message?: string;
  created_at: number;
  started_at?: number | null;
  ended_at?: number | null;
  // from progress events, for running training runs
  progress?: number;
  eta_s?: number;
  epoch?: number;
  num_epochs?: number;
  stage?: string;
}

export interface IDataset {
  id: string;
  name: string;
  dataset_type: string;
  status: string;
  message?: string;
  num_images?: number | null;
  progress?: number;
}

export interface IGpu {
  index: number;
  name?: string;
  utilization: number | null;
  memory_used: number | null;
  memory_total: number | null;
  temperature?: number | null;
  /** yours (this server's jobs), free, or other (another Hub user's lease) */
  state?: 'yours' | 'free' | 'other';
  user?: string | null;
  task: { id: string; name: string; run: number } | null;
  /** processes using this GPU that none of this server's jobs was given (leases are advisory) */
  unleased?: IUnleasedUse[];
}

/** A process NVML lists on a GPU without a lease for it. */
export interface IUnleasedUse {
  pid: number;
  user: string;
  memory_used: number | null;
}

/** The GPU card's warning line for processes using the GPU without its lease; '' when there are none. */
export function unleasedNote(uses: IUnleasedUse[] | undefined, trans: TranslationBundle): string {
  if (!uses || !uses.length) {
    return '';
  }
  const who = uses
    .map(u => (u.user ? trans.__('pid %1 (%2)', u.pid, u.user) : trans.__('pid %1', u.pid)))
    .join(trans._p('list separator', ', '));
  return trans.__('used without a lease by %1', who);
}

/** One message of ``WS /trio/api/events``. */
export interface IEvent {
  id?: number;
  type: string;
  task?: Partial<ITask> & { id: string };
  dataset?: Partial<IDataset> & { id: string };
  gpus?: IGpu[];
  progress?: Array<Partial<ITask> & { id: string }>;
  last_id?: number;
  refetch?: boolean;
}

/** A task row of ``GET /trio/api/tasks`` (the REST shape) as the model's shape. */
export function taskFromRest(row: any): ITask {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    status: row.status,
    run: row.run_index ?? row.run ?? 0,
    gpus: row.assigned_gpus ?? row.gpus ?? [],
    pinned: !!row.pinned,
    parent_id: row.parent_id ?? null,
    project_id: row.project_id ?? null,
    exit_code: row.exit_code ?? null,
    message: row.error || row.message || '',
    created_at: row.created_at,
    started_at: row.started_at ?? null,
    ended_at: row.ended_at ?? null
  };
}

export interface IGroups {
  running: ITask[];
  queued: ITask[];
  pending: ITask[];
  finished: ITask[];
}

type Listener = () => void;

export class TrioModel {
  readonly tasks = new Map<string, ITask>();
  readonly datasets = new Map<string, IDataset>();
  gpus: IGpu[] = [];
  /** The id of the newest event applied: what a reconnect passes as ``since``. */
  lastEventId: number | null = null;
  private _listeners = new Set<Listener>();
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

  get version(): number {
    return this._version;
  }

  private _changed(): void {
    this._version++;
    for (const fn of this._listeners) {
      fn();
    }
  }

  /** Replace everything with what the REST lists say (first load, and after a refetch). */
  load(tasks: ITask[], datasets: IDataset[], lastEventId: number | null): void {
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
          ? { ...t, progress: old.progress, eta_s: old.eta_s, epoch: old.epoch }
          : t
      );
    }
    this.datasets.clear();
    for (const d of datasets) {
      this.datasets.set(d.id, d);
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
}

/** "1h 02m", "3m 05s", "42s": a remaining time for the progress bar. */
export function formatEta(seconds: number | undefined | null, trans: TranslationBundle): string {
  if (seconds === undefined || seconds === null || !isFinite(seconds)) {
    return '';
  }
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h) {
    return trans.__('%1h %2m', h, pad(m));
  }
  if (m) {
    return trans.__('%1m %2s', m, pad(sec));
  }
  return trans.__('%1s', sec);
}

/** A task state (``running``...) in the user's language; an unknown one as it is. */
export function statusLabel(status: string, trans: TranslationBundle): string {
  switch (status) {
    case 'pending':
      return trans._p('task state', 'pending');
    case 'queued':
      return trans._p('task state', 'queued');
    case 'running':
      return trans._p('task state', 'running');
    case 'completed':
      return trans._p('task state', 'completed');
    case 'failed':
      return trans._p('task state', 'failed');
    case 'cancelled':
      return trans._p('task state', 'cancelled');
    case 'interrupted':
      return trans._p('task state', 'interrupted');
    case 'deleted':
      return trans._p('task state', 'deleted');
    default:
      return status;
  }
}

/** A task kind (``train``, ``script``...) in the user's language; an unknown one as it is. */
export function kindLabel(kind: string, trans: TranslationBundle): string {
  switch (kind) {
    case 'script':
      return trans._p('task kind', 'script');
    case 'shell':
      return trans._p('task kind', 'shell');
    case 'notebook':
      return trans._p('task kind', 'notebook');
    case 'train':
      return trans._p('task kind', 'train');
    case 'prune':
      return trans._p('task kind', 'prune');
    case 'analysis':
      return trans._p('task kind', 'analysis');
    case 'evaluate':
      return trans._p('task kind', 'evaluate');
    case 'predict':
      return trans._p('task kind', 'predict');
    case 'export':
      return trans._p('task kind', 'export');
    default:
      return kind;
  }
}

/** A dataset state (``checking``, ``split``...) in the user's language; an unknown one as it is. */
export function datasetStatusLabel(status: string, trans: TranslationBundle): string {
  switch (status) {
    case 'empty':
      return trans._p('dataset state', 'empty');
    case 'checking':
      return trans._p('dataset state', 'checking');
    case 'check_failed':
      return trans._p('dataset state', 'check_failed');
    case 'copying':
      return trans._p('dataset state', 'copying');
    case 'copy_failed':
      return trans._p('dataset state', 'copy_failed');
    case 'imported':
      return trans._p('dataset state', 'imported');
    case 'split':
      return trans._p('dataset state', 'split');
    default:
      return status;
  }
}

/** A dataset type (``classification``...) in the user's language; an unknown one as it is. */
export function datasetTypeLabel(type: string, trans: TranslationBundle): string {
  switch (type) {
    case 'classification':
      return trans._p('dataset type', 'classification');
    case 'detection':
      return trans._p('dataset type', 'detection');
    case 'segmentation':
      return trans._p('dataset type', 'segmentation');
    case 'instance_segmentation':
      return trans._p('dataset type', 'instance_segmentation');
    case 'remote_segmentation':
      return trans._p('dataset type', 'remote_segmentation');
    default:
      return type;
  }
}

/** "1.5 GiB" */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) {
    return '?';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/**
 * Why the server refused, in the user's language, from the reply's HTTP status (the server's own message
 * stays English: it is the API's; the sidebar shows both).
 */
export function refusalLabel(status: number | undefined, trans: TranslationBundle): string {
  switch (status) {
    case 400:
    case 422:
      return trans.__('the request was not valid');
    case 401:
    case 403:
      return trans.__('not allowed');
    case 404:
      return trans.__('not found');
    case 409:
      return trans.__('not possible in its current state');
    case 413:
      return trans.__('too large');
    case 429:
      return trans.__('too many requests; try again shortly');
    case 503:
      return trans.__('the server is unavailable');
    case 507:
      return trans.__('the server’s disk is full');
    default:
      return status && status >= 500 ? trans.__('the server failed') : trans.__('the request failed');
  }
}


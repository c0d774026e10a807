/**
 * What the server sends, named from the OpenAPI document it serves: ``generated/api.ts`` is written by
 * ``scripts/openapi.py`` from jupyter_trio's route table and pydantic models (``npm run build:lib`` runs
 * it; a test fails when the committed file is stale), so a state, field or reply changed in Python
 * changes these types and tsc finds every use. The events channel (a websocket) is outside the document:
 * its messages are the sidebar's records below, built from the same schemas. Also how a REST row becomes
 * a record.
 */

import type { components, paths } from './generated/api';
import type { ScheduleInfo } from './notebookjobs';

type Schemas = components['schemas'];

/** A row of ``GET /trio/api/tasks``. */
export type TaskInfo = Schemas['TaskInfo'];
/** ``GET /trio/api/tasks/{name}``: a task with its runs. */
export type TaskDetail = Schemas['TaskDetail'];
/** A row of ``GET /trio/api/datasets``. */
export type DatasetInfo = Schemas['DatasetInfo'];
/** A project of ``GET /trio/api/projects``. */
export type ProjectInfo = Schemas['ProjectInfo'];

/** A task state (``pending``, ``queued``, ``running``, ...), as Python's ``TASK_STATES`` says. */
export type TaskStatus = TaskInfo['status'];
/** A dataset state (``empty``, ``checking``, ... ``split``), as Python's ``DATASET_STATES`` says. */
export type DatasetStatus = DatasetInfo['status'];
/** A dataset type (``classification``, ...), as Python's ``DATASET_TYPES`` says. */
export type DatasetType = DatasetInfo['dataset_type'];
/** A process NVML lists on a GPU without a lease for it. */
export type IUnleasedUse = Schemas['UnleasedUse'];
/** A row of ``GET /trio/api/sweeps``: a sweep without its trials. */
export type SweepSummary = Schemas['SweepSummary'];
/** ``GET /trio/api/sweeps/{name}``: a sweep with its trials. */
export type SweepInfo = Schemas['SweepInfo'];
/** One trial of a sweep: its number, state, value, the params it got and its task's id. */
export type TrialInfo = Schemas['TrialInfo'];
/** ``GET /trio/api/sweeps/{name}/importances``. */
export type ImportancesReply = Schemas['ImportancesReply'];
/** A sweep state (``running``, ``paused``, ``completed``, ``stopped``, ``failed``). */
export type SweepState = SweepSummary['state'];
/** A trial state (``running``, ``complete``, ``pruned``, ``fail``): Optuna's names. */
export type TrialState = TrialInfo['state'];

type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';
type Success = 200 | 201 | 202;
type JsonOf<R> = R extends { content: { 'application/json': infer J } } ? J : never;

/** The JSON body of a route's successful reply: ``Reply<'/trio/api/tasks', 'get'>`` is a TaskList. */
export type Reply<P extends keyof paths, M extends Method> = paths[P][M] extends { responses: infer R }
  ? JsonOf<R[Extract<keyof R, Success>]>
  : never;

/** The JSON body a route's method takes. */
export type Body<P extends keyof paths, M extends Method> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer J } };
}
  ? J
  : never;

/** A task as the sidebar keeps it: a REST row's fields (some renamed), then progress events'. */
export interface ITask
  extends Pick<TaskInfo, 'id' | 'name' | 'kind' | 'status' | 'pinned' | 'created_at'>,
    Partial<Pick<TaskInfo, 'parent_id' | 'project_id' | 'exit_code' | 'started_at' | 'ended_at'>> {
  /** ``run_index``: the latest run (0: never run) */
  run: TaskInfo['run_index'];
  /** ``assigned_gpus`` */
  gpus: NonNullable<TaskInfo['assigned_gpus']>;
  /** ``error`` or ``message`` */
  message?: string;
  // from progress events, for running training runs
  progress?: number;
  eta_s?: number;
  epoch?: number;
  num_epochs?: number;
  stage?: string;
  // from a notebook job's progress events: the code cell running (1-based) of how many
  cell?: number;
  cells?: number;
}

/** A dataset as the sidebar keeps it; ``progress`` while it is copied in. */
export interface IDataset extends Pick<DatasetInfo, 'id' | 'name' | 'dataset_type' | 'status'> {
  message?: DatasetInfo['message'];
  num_images?: DatasetInfo['num_images'];
  progress?: number;
}

/**
 * A sweep as the sidebar keeps it: a REST row's fields, then its ``sweep`` events' (which also say how many
 * trials were asked and how many were pruned).
 */
export interface ISweep
  extends Pick<SweepSummary, 'id' | 'name' | 'state' | 'n_trials' | 'trials_done'>,
    Partial<
      Pick<
        SweepSummary,
        'owner' | 'metric' | 'direction' | 'parallel' | 'sampler' | 'pruner' | 'created_at' | 'updated_at'
      >
    > {
  message: string;
  best: { number: number; value: number; params?: Record<string, unknown> } | null;
  /** trials asked so far (started or ended) */
  trials?: number;
  /** trials the pruner stopped (known from an event, or from the trials once read) */
  pruned?: number;
  /** Bumped by every REST row or event of it, never by a read of its trials: what the views refetch on. */
  rev: number;
}

/** One GPU of a ``gpus`` event: NVML's reading, the lease state of ``GET /trio/api/gpus``, its task. */
export interface IGpu extends Partial<Pick<Schemas['GPUState'], 'state' | 'user' | 'unleased'>> {
  index: Schemas['GPUInfo']['index'];
  name?: Schemas['GPUInfo']['name'];
  utilization: number | null;
  memory_used: number | null;
  memory_total: number | null;
  temperature?: number | null;
  task: { id: string; name: string; run: number } | null;
}

/** One message of ``WS /trio/api/events``. */
export interface IEvent {
  id?: number;
  type: string;
  task?: Partial<ITask> & { id: string };
  dataset?: Partial<IDataset> & { id: string };
  gpus?: IGpu[];
  sweep?: Partial<Omit<ISweep, 'rev'>> & { id: string };
  schedule?: Partial<ScheduleInfo> & { id: string };
  progress?: Array<Partial<ITask> & { id: string }>;
  last_id?: number;
  refetch?: boolean;
}

/** A task row of ``GET /trio/api/tasks`` (the REST shape; the fields it reads) as the sidebar's record. */
export function taskFromRest(
  row: Pick<TaskInfo, 'id' | 'name' | 'kind' | 'status' | 'run_index' | 'created_at'> & Partial<TaskInfo>
): ITask {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    status: row.status,
    run: row.run_index ?? 0,
    gpus: row.assigned_gpus ?? [],
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

/** A dataset row of ``GET /trio/api/datasets`` as the sidebar's record. */
export function datasetFromRest(row: DatasetInfo): IDataset {
  return {
    id: row.id,
    name: row.name,
    dataset_type: row.dataset_type,
    status: row.status,
    message: row.message ?? '',
    num_images: row.num_images ?? null
  };
}

/** A sweep row of ``GET /trio/api/sweeps`` (or a whole ``SweepInfo``) as the sidebar's record. */
export function sweepFromRest(row: SweepSummary, rev = 0): ISweep {
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    state: row.state,
    message: row.message ?? '',
    metric: row.metric,
    direction: row.direction,
    n_trials: row.n_trials,
    parallel: row.parallel,
    sampler: row.sampler,
    pruner: row.pruner,
    trials_done: row.trials_done,
    best: row.best ?? null,
    created_at: row.created_at,
    updated_at: row.updated_at,
    rev
  };
}

/** The name of a trial's task: ``<sweep name>-<4-digit number>``, as the server names it. */
export function trialTaskName(sweepName: string, trial: number): string {
  return `${sweepName}-${String(trial).padStart(4, '0')}`;
}

/**
 * The server's names (task states and kinds, dataset states and types, sweep and trial states, HTTP
 * refusals) in the user's language. The tables of states and types are keyed by the OpenAPI document's
 * enums, so a state added in Python fails the build until it has a label here (and in the catalogs). A
 * name the tables do not know shows as it is.
 */

import type { TranslationBundle } from '@jupyterlab/translation';

import type { DatasetStatus, DatasetType, IUnleasedUse, SweepState, TaskStatus, TrialState } from './wire';

type Label = (trans: TranslationBundle) => string;

const TASK_STATES: Record<TaskStatus | 'deleted', Label> = {
  pending: trans => trans._p('task state', 'pending'),
  queued: trans => trans._p('task state', 'queued'),
  running: trans => trans._p('task state', 'running'),
  completed: trans => trans._p('task state', 'completed'),
  failed: trans => trans._p('task state', 'failed'),
  cancelled: trans => trans._p('task state', 'cancelled'),
  interrupted: trans => trans._p('task state', 'interrupted'),
  pruned: trans => trans._p('task state', 'pruned'),
  deleted: trans => trans._p('task state', 'deleted')
};

const TASK_KINDS: Record<string, Label> = {
  script: trans => trans._p('task kind', 'script'),
  shell: trans => trans._p('task kind', 'shell'),
  notebook: trans => trans._p('task kind', 'notebook'),
  notebook_job: trans => trans._p('task kind', 'notebook job'),
  train: trans => trans._p('task kind', 'train'),
  prune: trans => trans._p('task kind', 'prune'),
  analysis: trans => trans._p('task kind', 'analysis'),
  evaluate: trans => trans._p('task kind', 'evaluate'),
  predict: trans => trans._p('task kind', 'predict'),
  export: trans => trans._p('task kind', 'export')
};

const DATASET_STATES: Record<DatasetStatus, Label> = {
  empty: trans => trans._p('dataset state', 'empty'),
  checking: trans => trans._p('dataset state', 'checking'),
  check_failed: trans => trans._p('dataset state', 'check_failed'),
  copying: trans => trans._p('dataset state', 'copying'),
  copy_failed: trans => trans._p('dataset state', 'copy_failed'),
  imported: trans => trans._p('dataset state', 'imported'),
  split: trans => trans._p('dataset state', 'split')
};

const DATASET_TYPES: Record<DatasetType, Label> = {
  classification: trans => trans._p('dataset type', 'classification'),
  detection: trans => trans._p('dataset type', 'detection'),
  segmentation: trans => trans._p('dataset type', 'segmentation'),
  instance_segmentation: trans => trans._p('dataset type', 'instance_segmentation'),
  remote_segmentation: trans => trans._p('dataset type', 'remote_segmentation')
};

const SWEEP_STATES: Record<SweepState, Label> = {
  running: trans => trans._p('sweep state', 'running'),
  paused: trans => trans._p('sweep state', 'paused'),
  completed: trans => trans._p('sweep state', 'completed'),
  stopped: trans => trans._p('sweep state', 'stopped'),
  failed: trans => trans._p('sweep state', 'failed')
};

const TRIAL_STATES: Record<TrialState, Label> = {
  running: trans => trans._p('trial state', 'running'),
  complete: trans => trans._p('trial state', 'complete'),
  pruned: trans => trans._p('trial state', 'pruned'),
  fail: trans => trans._p('trial state', 'fail')
};

/** ``name``'s label in ``table``; the name itself when the table has none (own keys only). */
function lookup(table: Record<string, Label>, name: string, trans: TranslationBundle): string {
  return Object.prototype.hasOwnProperty.call(table, name) ? table[name](trans) : name;
}

/** A task state (``running``...) in the user's language; an unknown one as it is. */
export function statusLabel(status: string, trans: TranslationBundle): string {
  return lookup(TASK_STATES, status, trans);
}

/** A task kind (``train``, ``script``...) in the user's language; an unknown one as it is. */
export function kindLabel(kind: string, trans: TranslationBundle): string {
  return lookup(TASK_KINDS, kind, trans);
}

/** A dataset state (``checking``, ``split``...) in the user's language; an unknown one as it is. */
export function datasetStatusLabel(status: string, trans: TranslationBundle): string {
  return lookup(DATASET_STATES, status, trans);
}

/** A dataset type (``classification``...) in the user's language; an unknown one as it is. */
export function datasetTypeLabel(type: string, trans: TranslationBundle): string {
  return lookup(DATASET_TYPES, type, trans);
}

/** A sweep state (``running``, ``paused``...) in the user's language; an unknown one as it is. */
export function sweepStateLabel(state: string, trans: TranslationBundle): string {
  return lookup(SWEEP_STATES, state, trans);
}

/** A trial state (``complete``, ``pruned``...) in the user's language; an unknown one as it is. */
export function trialStateLabel(state: string, trans: TranslationBundle): string {
  return lookup(TRIAL_STATES, state, trans);
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

/**
 * Notifications of the runs that end while JupyterLab is open (issue 34): the model tells each task event's
 * before and after, runends.ts which of them is a run that ended, and the run's own record (read once, when
 * it ends) who started it and why it failed.
 */

import type { TranslationBundle } from '@jupyterlab/translation';

import type { TrioAPI } from './api';
import type { TrioModel } from './model';
import { notifyRunEnd } from './notify';
import { IRunEnd, runEnded, startedBy } from './runends';
import type { Reply } from './wire';

export interface IRunWatchOptions {
  model: TrioModel;
  api: TrioAPI;
  trans: TranslationBundle;
  /** The setting: whether to notify now. */
  enabled: () => boolean;
  /** Show the task (the notification's action). */
  open: (name: string) => void;
}

/** Notify about each run the current user started that ends from now on; returns the way to stop. */
export function watchRunEnds(options: IRunWatchOptions): () => void {
  const { model, api, trans, enabled, open } = options;
  let user: Promise<string | null> | null = null;
  // who the server takes this user for: asked once, when a first run ends
  const currentUser = () =>
    (user ??= api
      .request<Reply<'/trio/api/v1/user', 'get'>>('GET', ['v1', 'user'])
      .then(u => u.name || null)
      .catch(() => null));
  const report = async (end: IRunEnd) => {
    const [me, task] = await Promise.all([currentUser(), api.task(end.name).catch(() => null)]);
    const run = task?.runs?.find(r => r.run_index === end.run);
    if (!startedBy(me, run?.created_by || task?.owner)) {
      return;
    }
    notifyRunEnd(trans, { ...end, message: run?.message || end.message }, open);
  };
  return model.onTaskChange((prev, next) => {
    const end = enabled() ? runEnded(prev, next) : null;
    if (end) {
      void report(end);
    }
  });
}

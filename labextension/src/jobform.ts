/**
 * The "Run as job" dialog's form, and the requests it makes: ``POST /trio/api/notebook-jobs`` and, for a
 * schedule, ``POST /trio/api/schedules`` for the task created. Pure (the dialog is runasjob.tsx).
 */

import type { TranslationBundle } from '@jupyterlab/translation';

import { changedParameters, IParameterRow } from './jobparams';
import type { NotebookJobRequest, ScheduleRequest, Overlap } from './notebookjobs';
import { looksLikeCron } from './schedulefmt';

/** What the user filled in. */
export interface IJobForm {
  notebook: string;
  rows: IParameterRow[];
  /** as typed */
  gpus: string;
  /** a kernelspec name */
  kernel: string;
  name: string;
  when: 'now' | 'schedule';
  cron: string;
  timezone: string;
  overlap: Overlap;
}

/** A new form for ``notebook``: its parameters at their defaults, no GPU, the notebook's kernel, now. */
export function newJobForm(notebook: string, timezone: string): IJobForm {
  return {
    notebook,
    rows: [],
    gpus: '0',
    kernel: '',
    name: '',
    when: 'now',
    cron: '0 * * * *',
    timezone,
    overlap: 'skip'
  };
}

/** The requests of a filled form: the job, and the schedule (less its task) when it runs by cron. */
export interface IJobRequests {
  job: NotebookJobRequest;
  schedule: Omit<ScheduleRequest, 'task'> | null;
}

/**
 * The requests ``form`` makes; throws an Error (its message in the user's language) for what the dialog
 * can tell is wrong before asking the server. ``ownKernel`` is the notebook's kernelspec: choosing it
 * sends '' (the job follows the notebook's kernel).
 */
export function jobRequests(form: IJobForm, ownKernel: string, trans: TranslationBundle): IJobRequests {
  const gpus = Number(form.gpus.trim() || '0');
  if (!Number.isInteger(gpus) || gpus < 0) {
    throw new Error(trans.__('GPUs: "%1" is not a whole number of GPUs', form.gpus));
  }
  const job: NotebookJobRequest = {
    notebook: form.notebook,
    parameters: changedParameters(form.rows),
    kernel: form.kernel && form.kernel !== ownKernel ? form.kernel : '',
    gpus,
    run: form.when === 'now'
  };
  const name = form.name.trim();
  if (name) {
    job.name = name;
  }
  if (form.when === 'now') {
    return { job, schedule: null };
  }
  const cron = form.cron.trim();
  if (!looksLikeCron(cron)) {
    throw new Error(trans.__('"%1" is not a cron line (5 fields: minute hour day month weekday)', cron));
  }
  const timezone = form.timezone.trim() || 'UTC';
  return { job, schedule: { cron, timezone, overlap: form.overlap } };
}

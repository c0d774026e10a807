/**
 * Notebook jobs and schedules over REST (issue 32): a notebook's parameters, a job created from it, its
 * outputs (the executed notebook first) and the schedules that run tasks by cron. The types are the
 * server's OpenAPI document's (``generated/api.ts``), named here.
 */

import type { TrioAPI } from './api';
import type { Body, Reply } from './wire';

/** ``GET /trio/api/notebook-jobs/parameters``: the parameters cell as papermill reads it, the kernel. */
export type NotebookParameters = Reply<'/trio/api/notebook-jobs/parameters', 'get'>;
/** One parameter: its name, inferred type, the default's source text (``0.1``, ``'adam'``) and help. */
export type NotebookParameter = NotebookParameters['parameters'][number];

type JobBody = Body<'/trio/api/notebook-jobs', 'post'>;
/** The body of ``POST /trio/api/notebook-jobs``: the notebook, the rest as the server's defaults. */
export type NotebookJobRequest = Pick<JobBody, 'notebook'> & Partial<JobBody>;
/** The task created (a ``TaskInfo``), with what papermill would warn about. */
export type NotebookJob = Reply<'/trio/api/notebook-jobs', 'post'>;

/** A schedule of ``GET /trio/api/schedules`` (and of its ``schedule`` events). */
export type ScheduleInfo = Reply<'/trio/api/schedules/{sid}', 'get'>;
/** What a schedule does when its time comes while the task still runs. */
export type Overlap = ScheduleInfo['overlap'];
type ScheduleBody = Body<'/trio/api/schedules', 'post'>;
/** The body of ``POST /trio/api/schedules``: the task and cron line, the rest as the server's defaults. */
export type ScheduleRequest = Pick<ScheduleBody, 'task' | 'cron'> & Partial<ScheduleBody>;

/** ``GET /trio/api/tasks/{name}/outputs``: a run's files (``path`` workspace-relative). */
export type TaskOutputs = Reply<'/trio/api/tasks/{name}/outputs', 'get'>;
export type TaskOutput = TaskOutputs['outputs'][number];

/** The task kind of a notebook job (jupyter_trio/vocabulary.py). */
export const NOTEBOOK_JOB = 'notebook_job';

export function notebookParameters(api: TrioAPI, notebook: string): Promise<NotebookParameters> {
  return api.request('GET', ['notebook-jobs', 'parameters'], undefined, { notebook });
}

export function createNotebookJob(api: TrioAPI, body: NotebookJobRequest): Promise<NotebookJob> {
  return api.request('POST', ['notebook-jobs'], body);
}

export async function loadSchedules(api: TrioAPI): Promise<ScheduleInfo[]> {
  const reply = await api.request<Reply<'/trio/api/schedules', 'get'>>('GET', ['schedules']);
  return reply.schedules;
}

export function createSchedule(api: TrioAPI, body: ScheduleRequest): Promise<ScheduleInfo> {
  return api.request('POST', ['schedules'], body);
}

export function pauseSchedule(api: TrioAPI, id: string): Promise<ScheduleInfo> {
  return api.request('POST', ['schedules', id, 'pause'], {});
}

export function resumeSchedule(api: TrioAPI, id: string): Promise<ScheduleInfo> {
  return api.request('POST', ['schedules', id, 'resume'], {});
}

export function deleteSchedule(api: TrioAPI, id: string): Promise<void> {
  return api.request('DELETE', ['schedules', id]);
}

/** The next fire times (epoch seconds) of a cron line in a timezone; the server refuses a bad line. */
export async function previewSchedule(api: TrioAPI, cron: string, timezone: string): Promise<number[]> {
  const body: Body<'/trio/api/schedules/preview', 'post'> = { cron, timezone, count: 5 };
  const reply = await api.request<Reply<'/trio/api/schedules/preview', 'post'>>(
    'POST',
    ['schedules', 'preview'],
    body
  );
  return reply.next;
}

/** A run's outputs (``run`` undefined: the latest run). */
export function taskOutputs(api: TrioAPI, name: string, run?: number): Promise<TaskOutputs> {
  return api.request('GET', ['tasks', name, 'outputs'], undefined, { run });
}

/** Copy a run's executed notebook under the server root; resolves with its path there. */
export async function openableNotebook(api: TrioAPI, name: string, run?: number): Promise<string> {
  const reply = await api.request<Reply<'/trio/api/tasks/{name}/outputs/open', 'post'>>(
    'POST',
    ['tasks', name, 'outputs', 'open'],
    run === undefined ? {} : { run }
  );
  return reply.path;
}

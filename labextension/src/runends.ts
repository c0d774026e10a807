/**
 * Which runs end in a notification, and what it says (pure: the jest tests drive it; runwatch.ts shows it).
 *
 * A run is reported when this page saw it end — a ``task`` event that takes a task from queued or running
 * (or to a newer run) into an ended state — and when the current user started it: the run's ``created_by``
 * (the task's owner for a run recorded without one) is the name the server gives this user. Runs that ended
 * while no page was open are the server's notifications' business (e-mail, Slack: Apprise).
 */

import type { TranslationBundle } from '@jupyterlab/translation';

import type { ITask, TaskStatus } from './wire';

/** The ended states a notification reports. */
export const REPORTED_STATES: readonly TaskStatus[] = [
  'completed',
  'failed',
  'cancelled',
  'pruned',
  'interrupted'
];

const ACTIVE_STATES: readonly TaskStatus[] = ['queued', 'running'];

/** A run that ended, as the events channel told it. */
export interface IRunEnd {
  name: string;
  run: number;
  status: TaskStatus;
  /** The task's message at the end (a failure's reason), until the run's own is read. */
  message: string;
}

/** The run that ended between ``prev`` and ``next`` (a task before and after an event), or null. */
export function runEnded(prev: ITask | undefined, next: ITask): IRunEnd | null {
  if (!prev || !next.run || !REPORTED_STATES.includes(next.status)) {
    return null;
  }
  const wasActive = ACTIVE_STATES.includes(prev.status) && next.run >= prev.run;
  if (!wasActive && next.run <= prev.run) {
    return null; // the same ended run again (pinned, a note...), or an older one
  }
  return { name: next.name, run: next.run, status: next.status, message: next.message ?? '' };
}

/**
 * Whether the current user started the run: ``createdBy`` (the run's ``created_by``, else the task's owner)
 * is ``user``. Nothing to compare (the user unknown, an old run without a name) counts as theirs.
 */
export function startedBy(user: string | null, createdBy: string | null | undefined): boolean {
  return !user || !createdBy || createdBy === user;
}

/** How JupyterLab shows it: a failure as an error, a completed run as a success. */
export function notificationType(status: TaskStatus): 'success' | 'error' | 'warning' | 'info' {
  switch (status) {
    case 'completed':
      return 'success';
    case 'failed':
    case 'interrupted':
      return 'error';
    case 'cancelled':
      return 'warning';
    default:
      return 'info';
  }
}

/** The longest failure message a notification quotes (JupyterLab cuts a notification at 140 characters). */
export const MAX_MESSAGE = 100;

/** The notification's text: "<task> run <n> <state>", a failure's message after it. */
export function runEndText(end: IRunEnd, trans: TranslationBundle): string {
  const { name, run } = end;
  let message = end.message.trim().replace(/\s+/g, ' ');
  if (message.length > MAX_MESSAGE) {
    message = message.slice(0, MAX_MESSAGE - 1) + '…';
  }
  switch (end.status) {
    case 'completed':
      return trans.__('%1 run %2 completed', name, run);
    case 'failed':
      return message
        ? trans.__('%1 run %2 failed: %3', name, run, message)
        : trans.__('%1 run %2 failed', name, run);
    case 'interrupted':
      return message
        ? trans.__('%1 run %2 was interrupted: %3', name, run, message)
        : trans.__('%1 run %2 was interrupted', name, run);
    case 'cancelled':
      return trans.__('%1 run %2 cancelled', name, run);
    case 'pruned':
      return trans.__('%1 run %2 pruned', name, run);
    default:
      return trans.__('%1 run %2 ended', name, run);
  }
}

/**
 * Task kinds and states the sidebar treats apart, named as jupyter_trio/vocabulary.py names them. The
 * states are the OpenAPI document's (``TaskStatus``); a kind is any string there, so the kinds are listed.
 */

import type { TaskStatus } from './wire';

/** Training runs: they resume from a checkpoint and have params. */
export const RUN_KINDS: readonly string[] = ['train', 'prune'];
/** Jobs that belong to their parent training run (listed under it). */
export const CHILD_JOB_KINDS: readonly string[] = ['analysis', 'evaluate', 'predict', 'export'];
/** A run the runner still owns. */
export const ACTIVE: readonly TaskStatus[] = ['queued', 'running'];

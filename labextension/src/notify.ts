/** A server refusal, and a run that ended, as JupyterLab notifications (never an alert). */

import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

import { refusalLabel } from './labels';
import { IRunEnd, notificationType, runEndText } from './runends';

/**
 * Run ``action``; a server refusal becomes a JupyterLab notification. ``what`` is already translated; the
 * server's reason stays as the server said it (English: it is API). Resolves with whether it succeeded.
 */
export async function attempt(
  trans: TranslationBundle,
  what: string,
  action: () => Promise<unknown>
): Promise<boolean> {
  try {
    await action();
    return true;
  } catch (err: any) {
    // why, in the user's language (from the status), then the server's own words (English: the API's)
    const why = refusalLabel(err?.status, trans);
    Notification.error(trans.__('%1: %2 (%3)', what, why, err?.message ?? String(err)), { autoClose: 8000 });
    return false;
  }
}

/** How long a run's end stays on screen (ms): a failure longer. */
const RUN_END_SHOWN_MS = 8000;
const RUN_FAILED_SHOWN_MS = 20000;

/**
 * A run that ended, as a JupyterLab notification of its kind (a failure as an error, with its message),
 * whose action opens the task (``open``).
 */
export function notifyRunEnd(trans: TranslationBundle, end: IRunEnd, open: (name: string) => void): string {
  const type = notificationType(end.status);
  return Notification.emit(runEndText(end, trans), type, {
    autoClose: type === 'error' ? RUN_FAILED_SHOWN_MS : RUN_END_SHOWN_MS,
    actions: [
      {
        label: trans.__('Show task'),
        caption: trans.__('Show %1 in the jupyter-trio sidebar, with its details', end.name),
        callback: () => open(end.name)
      }
    ]
  });
}

/** A server refusal as a JupyterLab notification (never an alert). */

import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

import { refusalLabel } from './labels';

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

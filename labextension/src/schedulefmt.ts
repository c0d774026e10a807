/**
 * Schedules as the sidebar and the "Run as job" dialog write them: a fire time in local time and relative
 * to now ("in 3m 05s", "2h 10m ago"), the browser's timezone, and whether a cron line has a cron's shape
 * (the server's croniter has the last word).
 */

import type { TranslationBundle } from '@jupyterlab/translation';

import { formatEta } from './format';

/** The browser's IANA timezone (``Europe/Paris``); UTC where Intl cannot tell. */
export function browserTimezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** Whether ``text`` looks like a cron line: 5 or 6 fields, or a macro such as ``@daily``. */
export function looksLikeCron(text: string): boolean {
  const t = text.trim();
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(t)) {
    return true;
  }
  const fields = t.split(/\s+/).filter(Boolean);
  return (fields.length === 5 || fields.length === 6) && fields.every(f => /^[\w*/,\-?#LW]+$/.test(f));
}

/** A fire time (epoch seconds) as a date and time; ``locale``/``timeZone`` default to the browser's. */
export function formatFireTime(epoch: number, opts: { locale?: string; timeZone?: string } = {}): string {
  return new Date(epoch * 1000).toLocaleString(opts.locale, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: opts.timeZone
  });
}

/** A span of seconds, short: "42s", "3m 05s", "2h 05m", "3d 4h". */
export function formatSpan(seconds: number, trans: TranslationBundle): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 86400) {
    return formatEta(s, trans);
  }
  return trans.__('%1d %2h', Math.floor(s / 86400), Math.floor((s % 86400) / 3600));
}

/** ``epoch`` relative to ``nowMs``: "in 3m 05s", "2h 10m ago", "now" (within a second). */
export function formatRelative(epoch: number, nowMs: number, trans: TranslationBundle): string {
  const delta = epoch - nowMs / 1000;
  if (Math.abs(delta) < 1) {
    return trans.__('now');
  }
  return delta > 0
    ? trans.__('in %1', formatSpan(delta, trans))
    : trans.__('%1 ago', formatSpan(-delta, trans));
}

/** What a schedule's row says of its next fire: the time and how far off, or why there is none. */
export function nextFireText(
  schedule: { paused: boolean; next_fire: number | null },
  nowMs: number,
  trans: TranslationBundle,
  opts: { locale?: string; timeZone?: string } = {}
): { when: string; relative: string } {
  if (schedule.paused) {
    return { when: trans.__('paused'), relative: '' };
  }
  if (schedule.next_fire === null || schedule.next_fire === undefined) {
    return { when: trans.__('no next fire'), relative: '' };
  }
  return {
    when: formatFireTime(schedule.next_fire, opts),
    relative: formatRelative(schedule.next_fire, nowMs, trans)
  };
}

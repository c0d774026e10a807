/** Numbers as the sidebar shows them: remaining times and byte sizes. */

import type { TranslationBundle } from '@jupyterlab/translation';

/** "1h 02m", "3m 05s", "42s": a remaining time for the progress bar. */
export function formatEta(seconds: number | undefined | null, trans: TranslationBundle): string {
  if (seconds === undefined || seconds === null || !isFinite(seconds)) {
    return '';
  }
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h) {
    return trans.__('%1h %2m', h, pad(m));
  }
  if (m) {
    return trans.__('%1m %2s', m, pad(sec));
  }
  return trans.__('%1s', sec);
}

/** "1.5 GiB" */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) {
    return '?';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** An objective or parameter value, short: four significant digits, an exponent when tiny or huge. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined || !isFinite(v)) {
    return '—';
  }
  const a = Math.abs(v);
  if (a === 0) {
    return '0';
  }
  if (a >= 1e5 || a < 1e-3) {
    return v.toExponential(2);
  }
  return String(Number(v.toPrecision(4)));
}

/**
 * The compare view's arithmetic, pure (no DOM), for the jest tests: which columns show by default, which
 * parameters differ among the selected runs, the parallel coordinates' default axes and colour, a header
 * click's sort, a shift-click's range, and the scatter's points.
 */

import { categoryOf } from './parallelcoords';
import { IRunColumn, RunRow, SortOrder, splitMetric } from './runsapi';

/** The attributes shown before any choice, in this order (those the reply has). */
export const DEFAULT_ATTRIBUTES = ['task', 'run', 'status', 'duration'];
/** At most this many parameter axes at first (the user adds more). */
export const MAX_DEFAULT_AXES = 12;

/** A value's identity for "differs": a missing value is null, objects by their JSON. */
function identity(v: unknown): string {
  return v === undefined || v === null ? 'null' : categoryOf(v);
}

/** The ``names`` whose values are not all the same among ``rows`` (none for fewer than two rows). */
export function differingColumns(rows: RunRow[], names: string[]): Set<string> {
  const out = new Set<string>();
  if (rows.length < 2) {
    return out;
  }
  for (const name of names) {
    const first = identity(rows[0][name]);
    if (rows.some(r => identity(r[name]) !== first)) {
      out.add(name);
    }
  }
  return out;
}

/** The names of the columns of one kind, in the reply's order. */
export function columnsOf(columns: IRunColumn[], kind: IRunColumn['kind']): string[] {
  return columns.filter(c => c.kind === kind).map(c => c.name);
}

/**
 * The columns shown before the user picks: the main attributes, every parameter, and each metric series'
 * ``last`` (or, without one, its first aggregate).
 */
export function defaultColumns(columns: IRunColumn[]): string[] {
  const names = new Set(columns.map(c => c.name));
  const out = DEFAULT_ATTRIBUTES.filter(n => names.has(n));
  out.push(...columnsOf(columns, 'param'));
  const seen = new Map<string, string>();
  for (const name of columnsOf(columns, 'metric')) {
    const series = splitMetric(name)?.[0] ?? name;
    const current = seen.get(series);
    if (current === undefined || (name.endsWith('.last') && !current.endsWith('.last'))) {
      seen.set(series, name);
    }
  }
  out.push(...seen.values());
  return out;
}

/**
 * The columns the table shows: the picked ones in their order; with ``onlyDiffers``, a parameter only
 * where it differs.
 */
export function shownColumns(
  picked: string[],
  columns: IRunColumn[],
  onlyDiffers: boolean,
  differing: Set<string>
): string[] {
  const kinds = new Map(columns.map(c => [c.name, c.kind]));
  return picked.filter(
    name => kinds.has(name) && !(onlyDiffers && kinds.get(name) === 'param' && !differing.has(name))
  );
}

/** The numeric columns (what an axis can colour by, and what the scatter can plot). */
export function numericColumns(columns: IRunColumn[]): string[] {
  return columns.filter(c => c.type === 'number').map(c => c.name);
}

/** The column colouring the lines at first: a metric's ``best``, else its ``last``, else any numeric metric. */
export function defaultColor(columns: IRunColumn[]): string | null {
  const metrics = columns.filter(c => c.kind === 'metric' && c.type === 'number').map(c => c.name);
  return (
    metrics.find(n => n.endsWith('.best')) ?? metrics.find(n => n.endsWith('.last')) ?? metrics[0] ?? null
  );
}

/**
 * The parallel coordinates' axes at first: the parameters that differ among the runs (at most
 * MAX_DEFAULT_AXES), then the colour column.
 */
export function defaultAxes(columns: IRunColumn[], rows: RunRow[], color: string | null): string[] {
  const params = columnsOf(columns, 'param');
  const differing = differingColumns(rows, params);
  const axes = params.filter(p => differing.has(p)).slice(0, MAX_DEFAULT_AXES);
  if (!axes.length) {
    axes.push(...params.slice(0, MAX_DEFAULT_AXES));
  }
  if (color && !axes.includes(color)) {
    axes.push(color);
  }
  return axes;
}

/** A header click: a new column sorts up; the sorted column flips. */
export function nextSort(
  current: { sort: string | null; order: SortOrder },
  column: string
): { sort: string; order: SortOrder } {
  if (current.sort === column) {
    return { sort: column, order: current.order === 'asc' ? 'desc' : 'asc' };
  }
  return { sort: column, order: 'asc' };
}

/** The keys from ``anchor`` to ``target`` in ``order`` (both included); just ``target`` without an anchor. */
export function rangeBetween(order: string[], anchor: string | null, target: string): string[] {
  const b = order.indexOf(target);
  const a = anchor === null ? -1 : order.indexOf(anchor);
  if (a < 0 || b < 0) {
    return [target];
  }
  return order.slice(Math.min(a, b), Math.max(a, b) + 1);
}

/** A value as a number for a chart: numbers, and booleans as 0/1; null otherwise. */
export function asNumber(v: unknown): number | null {
  if (typeof v === 'number') {
    return isFinite(v) ? v : null;
  }
  if (typeof v === 'boolean') {
    return v ? 1 : 0;
  }
  return null;
}

/**
 * The scatter's points in uPlot's aligned form, sorted by x: [xs, y outside the brushes, y inside]. A run
 * without a number on either axis is left out.
 */
export function scatterData(
  rows: RunRow[],
  x: string,
  y: string,
  inside?: boolean[]
): [number[], (number | null)[], (number | null)[]] {
  const points: [number, number, boolean][] = [];
  rows.forEach((row, i) => {
    const px = asNumber(row[x]);
    const py = asNumber(row[y]);
    if (px !== null && py !== null) {
      points.push([px, py, inside ? inside[i] : true]);
    }
  });
  points.sort((a, b) => a[0] - b[0]);
  return [
    points.map(p => p[0]),
    points.map(p => (p[2] ? null : p[1])),
    points.map(p => (p[2] ? p[1] : null))
  ];
}

/** Whether a column's lower values are the better ones, by its name (a loss, an error, a time). */
export function lowerIsBetter(name: string | null): boolean {
  return !!name && /loss|err|perplexity|\b(wer|cer|mse|mae|rmse)\b|latency|duration|time/i.test(name);
}

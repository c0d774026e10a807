/**
 * Parallel coordinates: one vertical axis per column, each row a polyline through its
 * values, coloured by one value (viridis: brighter is better), rows without it grey under the others. A
 * numeric axis is linear, or logarithmic when its values are all positive and span more than two decades;
 * a categorical one spreads its values evenly. Brushes (a range dragged on an axis) keep the rows inside
 * every one of them in colour and fade the rest.
 *
 * Two users: a sweep's view (``layout``: its parameters, then the objective; a line per ended trial) and
 * the compare view (``layoutRows``: any columns of any runs). The geometry and the brushes are pure, for
 * the jest tests; ``drawParallelCoords`` (parallelcanvas.ts) paints a layout.
 */

import { formatValue } from './format';
import type { TrialInfo } from './wire';

export type AxisKind = 'linear' | 'log' | 'categorical';

export interface IAxis {
  /** The column's name (a sweep's parameter by dotted name, or the objective's metric). */
  key: string;
  /** Drawn thicker: the sweep's objective, the compare view's colour column. */
  objective: boolean;
  kind: AxisKind;
  /** The range drawn: the values' (for ``log``, their log10), or 0..1 for a categorical axis. */
  min: number;
  max: number;
  /** A categorical axis's values, in order from the bottom up. */
  categories: string[];
  /** The axis's position, in CSS pixels from the left. */
  x: number;
}

export interface ILine {
  /** The row's index in what was laid out. */
  index: number;
  /** A sweep's trial number; the row's index otherwise. */
  number: number;
  /** A sweep's trial state; '' otherwise. */
  state: string;
  /** The value the line is coloured by. */
  value: number | null;
  /** One point per axis in CSS pixels; null where the row has no value there (the line breaks). */
  points: ([number, number] | null)[];
  /** 0 (the worst) to 1 (the best) among the coloured rows; null for a grey line. */
  goodness: number | null;
  color: string;
}

export interface IBox {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export interface ILayout {
  axes: IAxis[];
  /** Grey lines first, then the coloured ones from the worst to the best (drawn in this order). */
  lines: ILine[];
  box: IBox;
}

export interface ILayoutOptions {
  /** The objective's axis title. */
  metric: string;
  direction: 'minimize' | 'maximize';
  width: number;
  height: number;
  margin?: Partial<Omit<IBox, 'width' | 'height'>>;
}

/** An axis to lay out: a column, maybe marked (drawn thicker). */
export interface IAxisSpec {
  key: string;
  objective?: boolean;
}

export interface IRowsLayoutOptions<T> {
  /** The axes, left to right. */
  axes: IAxisSpec[];
  /** A row's value on an axis. */
  valueOf: (row: T, axis: IAxisSpec) => unknown;
  /** The number colouring a row's line; null (or not finite) for a grey line. */
  colorOf: (row: T) => number | null;
  /** Which end of the colour values is the best (the brightest): maximize by default. */
  direction?: 'minimize' | 'maximize';
  /** A line's number (order among equals): the row's index by default. */
  numberOf?: (row: T, index: number) => number;
  stateOf?: (row: T) => string;
  width: number;
  height: number;
  margin?: Partial<Omit<IBox, 'width' | 'height'>>;
}

export const GREY = 'rgba(128, 128, 128, 0.45)';
/** Lines outside the brushes. */
export const FADED = 'rgba(128, 128, 128, 0.12)';
const MARGIN = { left: 24, right: 72, top: 40, bottom: 36 };
/** Viridis, five stops: the worst trial dark purple, the best yellow. */
const STOPS: [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37]
];
const LOG_SPAN = 100; // max / min above this (all positive): a log axis
/** How many stops the colour map has (the legend draws them). */
export const COLOR_STOPS = STOPS.length;

/** The colour of a goodness from 0 (the worst) to 1 (the best). */
export function colormap(goodness: number): string {
  const g = Math.min(1, Math.max(0, isFinite(goodness) ? goodness : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(g));
  const f = g - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  const c = a.map((v, k) => Math.round(v + (b[k] - v) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** How a categorical value is written (its axis label and identity). */
export function categoryOf(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** An axis (without its x) for these values: numeric when every value is a finite number. */
export function buildAxis(key: string, values: unknown[], objective = false): IAxis {
  const axis: IAxis = { key, objective, kind: 'linear', min: 0, max: 1, categories: [], x: 0 };
  let min = Infinity;
  let max = -Infinity;
  let numeric = true;
  let any = false;
  for (const v of values) {
    if (v === undefined || v === null) {
      continue;
    }
    any = true;
    if (typeof v === 'number' && isFinite(v)) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    } else {
      numeric = false;
    }
  }
  if (!any) {
    return axis;
  }
  if (numeric) {
    if (min > 0 && max / min > LOG_SPAN) {
      return { ...axis, kind: 'log', min: Math.log10(min), max: Math.log10(max) };
    }
    return { ...axis, min, max };
  }
  const present = values.filter(v => v !== undefined && v !== null);
  const categories = [...new Set(present.map(categoryOf))].sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true })
  );
  return { ...axis, kind: 'categorical', categories };
}

/** A categorical axis's value → index, built once per axis (an axis of task names may have thousands). */
const categoryIndex = new WeakMap<IAxis, Map<string, number>>();

function indexOfCategory(axis: IAxis, v: unknown): number {
  let index = categoryIndex.get(axis);
  if (!index || index.size !== axis.categories.length) {
    index = new Map(axis.categories.map((c, i) => [c, i]));
    categoryIndex.set(axis, index);
  }
  return index.get(categoryOf(v)) ?? -1;
}

/**
 * Where ``v`` lies on ``axis``: 0 at the bottom, 1 at the top; null when the axis cannot place it. A
 * categorical axis's n values sit at (i + 0.5) / n; a numeric axis of one value puts it in the middle.
 */
export function position(axis: IAxis, v: unknown): number | null {
  if (v === undefined || v === null) {
    return null;
  }
  if (axis.kind === 'categorical') {
    const i = indexOfCategory(axis, v);
    return i < 0 ? null : (i + 0.5) / axis.categories.length;
  }
  if (typeof v !== 'number' || !isFinite(v) || (axis.kind === 'log' && v <= 0)) {
    return null;
  }
  const x = axis.kind === 'log' ? Math.log10(v) : v;
  if (axis.max === axis.min) {
    return 0.5;
  }
  return Math.min(1, Math.max(0, (x - axis.min) / (axis.max - axis.min)));
}

/** The value at position ``p`` (0 bottom .. 1 top) of a numeric axis. */
export function valueAt(axis: IAxis, p: number): number {
  const x = axis.min + (axis.max - axis.min) * p;
  return axis.kind === 'log' ? Math.pow(10, x) : x;
}

/** The searched parameters: every name a trial's params have, sorted. */
export function parameterNames(trials: Pick<TrialInfo, 'params'>[]): string[] {
  const names = new Set<string>();
  for (const t of trials) {
    Object.keys(t.params ?? {}).forEach(k => names.add(k));
  }
  return [...names].sort();
}

/**
 * The geometry of any rows: the axes evenly across the box (each built from the rows' values), and a
 * line per row, coloured by ``colorOf`` relative to the other rows.
 */
export function layoutRows<T>(rows: T[], opts: IRowsLayoutOptions<T>): ILayout {
  const box: IBox = { ...MARGIN, ...(opts.margin ?? {}), width: opts.width, height: opts.height };
  const axes = opts.axes.map(spec => {
    const values = rows.map(r => opts.valueOf(r, spec));
    return buildAxis(spec.key, values, !!spec.objective);
  });
  const plotW = Math.max(1, box.width - box.left - box.right);
  const plotH = Math.max(1, box.height - box.top - box.bottom);
  axes.forEach((axis, i) => {
    axis.x = box.left + (axes.length === 1 ? plotW / 2 : (i * plotW) / (axes.length - 1));
  });

  const colours = rows.map(r => {
    const v = opts.colorOf(r);
    return typeof v === 'number' && isFinite(v) ? v : null;
  });
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of colours) {
    if (v !== null) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const minimize = opts.direction === 'minimize';
  const goodnessOf = (v: number) => {
    const g = hi === lo ? 1 : (v - lo) / (hi - lo);
    return minimize ? 1 - g : g;
  };

  const lines: ILine[] = rows.map((row, index) => {
    const value = colours[index];
    const goodness = value === null ? null : goodnessOf(value);
    const points = axes.map((axis, k) => {
      const p = position(axis, opts.valueOf(row, opts.axes[k]));
      return p === null ? null : ([axis.x, box.top + (1 - p) * plotH] as [number, number]);
    });
    return {
      index,
      number: opts.numberOf ? opts.numberOf(row, index) : index,
      state: opts.stateOf ? opts.stateOf(row) : '',
      value,
      points,
      goodness,
      color: goodness === null ? GREY : colormap(goodness)
    };
  });
  lines.sort((a, b) => {
    if ((a.goodness === null) !== (b.goodness === null)) {
      return a.goodness === null ? -1 : 1;
    }
    return (a.goodness ?? 0) - (b.goodness ?? 0) || a.number - b.number;
  });
  return { axes, lines, box };
}

/**
 * A sweep's plot: an axis per searched parameter, then the objective; a line per ended trial (running ones
 * are left out), pruned and failed trials grey.
 */
export function layout(trials: TrialInfo[], opts: ILayoutOptions): ILayout {
  const ended = trials.filter(t => t.state !== 'running');
  const names = parameterNames(ended.length ? ended : trials);
  const axes: IAxisSpec[] = [...names.map(key => ({ key })), { key: opts.metric, objective: true }];
  const scored = (t: TrialInfo) => t.state === 'complete' && typeof t.value === 'number' && isFinite(t.value);
  return layoutRows(ended, {
    axes,
    valueOf: (t, axis) => (axis.objective ? t.value : (t.params ?? {})[axis.key]),
    colorOf: t => (scored(t) ? (t.value as number) : null),
    direction: opts.direction,
    numberOf: t => t.number,
    stateOf: t => t.state,
    width: opts.width,
    height: opts.height,
    margin: opts.margin
  });
}

/** The labels an axis shows: [text, position 0..1] (the ends and the middle of a numeric axis). */
export function ticks(axis: IAxis): [string, number][] {
  if (axis.kind === 'categorical') {
    return axis.categories.map((c, i) => [c, (i + 0.5) / axis.categories.length]);
  }
  if (axis.max === axis.min) {
    return [[formatValue(valueAt(axis, 0)), 0.5]];
  }
  return [0, 0.5, 1].map(p => [formatValue(valueAt(axis, p)), p] as [string, number]);
}

// --- brushes ---------------------------------------------------------------------------------------

/**
 * A range brushed on an axis, kept as values (not pixels), so it means the same after the rows are read
 * again: a numeric axis's ``min``..``max`` (inclusive), a categorical axis's ``categories``.
 */
export interface IBrush {
  key: string;
  min?: number;
  max?: number;
  categories?: string[];
}

/** The brush covering positions ``p0``..``p1`` (0 bottom .. 1 top, either order) of ``axis``. */
export function brushFromPositions(axis: IAxis, p0: number, p1: number): IBrush {
  const lo = Math.max(0, Math.min(p0, p1));
  const hi = Math.min(1, Math.max(p0, p1));
  if (axis.kind === 'categorical') {
    const n = axis.categories.length;
    return {
      key: axis.key,
      categories: axis.categories.filter((_, i) => lo <= (i + 0.5) / n && (i + 0.5) / n <= hi)
    };
  }
  if (axis.max === axis.min) {
    // every value sits in the middle: in the brush or not at all
    const inside = lo <= 0.5 && 0.5 <= hi;
    return { key: axis.key, min: inside ? axis.min : Infinity, max: inside ? axis.max : -Infinity };
  }
  return { key: axis.key, min: valueAt(axis, lo), max: valueAt(axis, hi) };
}

/** Whether ``v`` is inside ``brush`` (a missing value never is). */
export function inBrush(brush: IBrush, v: unknown): boolean {
  if (v === undefined || v === null) {
    return false;
  }
  if (brush.categories) {
    return brush.categories.includes(categoryOf(v));
  }
  // a little slack: a brush's ends come from pixels, and a log axis's from powers of ten
  const slack = 1e-9 * Math.max(Math.abs(brush.min ?? 0), Math.abs(brush.max ?? 0));
  return (
    typeof v === 'number' && v >= (brush.min ?? -Infinity) - slack && v <= (brush.max ?? Infinity) + slack
  );
}

/** For each row, whether it is inside every brush (all true without brushes). */
export function brushMask<T>(
  rows: T[],
  valueOf: (row: T, key: string) => unknown,
  brushes: IBrush[]
): boolean[] {
  return rows.map(row => brushes.every(b => inBrush(b, valueOf(row, b.key))));
}

/** The positions (0..1, low to high) a brush covers on ``axis``; null where it covers nothing there. */
export function brushSpan(axis: IAxis, brush: IBrush): [number, number] | null {
  if (brush.categories) {
    const n = axis.categories.length;
    const at = brush.categories.map(c => axis.categories.indexOf(c)).filter(i => i >= 0);
    if (!n || !at.length) {
      return null;
    }
    return [Math.min(...at) / n, (Math.max(...at) + 1) / n];
  }
  if (axis.kind === 'categorical' || brush.min === undefined || brush.max === undefined) {
    return null;
  }
  if (brush.min > brush.max) {
    return null;
  }
  if (axis.max === axis.min) {
    return [0.45, 0.55];
  }
  const at = (v: number) => (axis.kind === 'log' && v <= 0 ? 0 : (position(axis, v) ?? 0));
  return [at(brush.min), at(brush.max)];
}

/** The position (0 bottom .. 1 top) of a pixel's y in ``box``. */
export function positionAtY(box: IBox, y: number): number {
  const plotH = Math.max(1, box.height - box.top - box.bottom);
  return Math.min(1, Math.max(0, 1 - (y - box.top) / plotH));
}

/** The axis a pointer at (x, y) is on: the nearest within ``slop`` pixels, over the plot's height. */
export function axisAt(plot: ILayout, x: number, y: number, slop = 14): IAxis | null {
  const { box } = plot;
  if (y < box.top - 12 || y > box.height - box.bottom + 12) {
    return null;
  }
  let best: IAxis | null = null;
  for (const axis of plot.axes) {
    if (Math.abs(axis.x - x) <= slop && (!best || Math.abs(axis.x - x) < Math.abs(best.x - x))) {
      best = axis;
    }
  }
  return best;
}

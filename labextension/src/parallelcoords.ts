/**
 * A sweep's parallel-coordinates plot on a ``<canvas>``: one vertical axis per searched parameter, then
 * the objective; each ended trial a polyline through its values, coloured by its objective (better is
 * brighter), pruned and failed trials grey under the others. A numeric axis is linear, or logarithmic when
 * its values are all positive and span more than two decades; a categorical one spreads its values
 * evenly. ``layout`` (the geometry) is pure, for the jest tests; ``drawParallelCoords`` paints a layout.
 */

import { formatValue } from './format';
import type { TrialInfo, TrialState } from './wire';

export type AxisKind = 'linear' | 'log' | 'categorical';

export interface IAxis {
  /** The parameter's dotted name, or the objective's metric. */
  key: string;
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
  number: number;
  state: TrialState;
  value: number | null;
  /** One point per axis in CSS pixels; null where the trial has no value there (the line breaks). */
  points: ([number, number] | null)[];
  /** 0 (the worst) to 1 (the best) among the complete trials; null for a grey line. */
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

export const GREY = 'rgba(128, 128, 128, 0.45)';
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
  const present = values.filter(v => v !== undefined && v !== null);
  const axis: IAxis = { key, objective, kind: 'linear', min: 0, max: 1, categories: [], x: 0 };
  if (!present.length) {
    return axis;
  }
  if (present.every(v => typeof v === 'number' && isFinite(v))) {
    const nums = present as number[];
    const min = Math.min(...nums);
    const max = Math.max(...nums);
    if (min > 0 && max / min > LOG_SPAN) {
      return { ...axis, kind: 'log', min: Math.log10(min), max: Math.log10(max) };
    }
    return { ...axis, min, max };
  }
  const categories = [...new Set(present.map(categoryOf))].sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true })
  );
  return { ...axis, kind: 'categorical', categories };
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
    const i = axis.categories.indexOf(categoryOf(v));
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

/** The searched parameters: every name a trial's params have, sorted. */
export function parameterNames(trials: Pick<TrialInfo, 'params'>[]): string[] {
  const names = new Set<string>();
  for (const t of trials) {
    Object.keys(t.params ?? {}).forEach(k => names.add(k));
  }
  return [...names].sort();
}

/**
 * The plot's geometry: the axes (the parameters, then the objective) evenly across the box, and a line
 * per ended trial (running ones are left out).
 */
export function layout(trials: TrialInfo[], opts: ILayoutOptions): ILayout {
  const box: IBox = { ...MARGIN, ...(opts.margin ?? {}), width: opts.width, height: opts.height };
  const ended = trials.filter(t => t.state !== 'running');
  const names = parameterNames(ended.length ? ended : trials);
  const paramOf = (t: TrialInfo, name: string) => (t.params ?? {})[name];
  const params = names.map(name => {
    const values = ended.map(t => paramOf(t, name));
    return buildAxis(name, values);
  });
  const objectiveValues: unknown[] = ended.map(t => t.value);
  const objective = buildAxis(opts.metric, objectiveValues, true);
  const axes = [...params, objective];
  const plotW = Math.max(1, box.width - box.left - box.right);
  const plotH = Math.max(1, box.height - box.top - box.bottom);
  axes.forEach((axis, i) => {
    axis.x = box.left + (axes.length === 1 ? plotW / 2 : (i * plotW) / (axes.length - 1));
  });

  const scored = ended.filter(
    t => t.state === 'complete' && typeof t.value === 'number' && isFinite(t.value)
  );
  const values = scored.map(t => t.value as number);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const goodnessOf = (v: number) => {
    const g = hi === lo ? 1 : (v - lo) / (hi - lo);
    return opts.direction === 'minimize' ? 1 - g : g;
  };

  const lines: ILine[] = ended.map(t => {
    const grey = t.state !== 'complete' || typeof t.value !== 'number' || !isFinite(t.value);
    const goodness = grey ? null : goodnessOf(t.value as number);
    const points = axes.map(axis => {
      const p = position(axis, axis.objective ? t.value : paramOf(t, axis.key));
      return p === null ? null : ([axis.x, box.top + (1 - p) * plotH] as [number, number]);
    });
    return {
      number: t.number,
      state: t.state,
      value: t.value ?? null,
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

/** The labels an axis shows: [text, position 0..1] (the ends and the middle of a numeric axis). */
export function ticks(axis: IAxis): [string, number][] {
  if (axis.kind === 'categorical') {
    return axis.categories.map((c, i) => [c, (i + 0.5) / axis.categories.length]);
  }
  const value = (p: number) => {
    const x = axis.min + (axis.max - axis.min) * p;
    return axis.kind === 'log' ? Math.pow(10, x) : x;
  };
  if (axis.max === axis.min) {
    return [[formatValue(value(0)), 0.5]];
  }
  return [0, 0.5, 1].map(p => [formatValue(value(p)), p] as [string, number]);
}

export interface IDrawStyle {
  /** Text and axis colours (CSS colours: the theme's). */
  text: string;
  axis: string;
  font: string;
  /** devicePixelRatio */
  dpr: number;
  /** The colour legend's two ends, in the user's language. */
  worse: string;
  better: string;
}

/** Paint ``plot`` on ``canvas`` (sized to the layout's box); the canvas stays transparent elsewhere. */
export function drawParallelCoords(canvas: HTMLCanvasElement, plot: ILayout, style: IDrawStyle): void {
  const { box } = plot;
  canvas.width = Math.round(box.width * style.dpr);
  canvas.height = Math.round(box.height * style.dpr);
  canvas.style.width = `${box.width}px`;
  canvas.style.height = `${box.height}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx) {
    return;
  }
  ctx.setTransform(style.dpr, 0, 0, style.dpr, 0, 0);
  ctx.clearRect(0, 0, box.width, box.height);
  ctx.lineJoin = 'round';

  for (const line of plot.lines) {
    ctx.strokeStyle = line.color;
    ctx.lineWidth = line.goodness === null ? 1 : 1.75;
    ctx.beginPath();
    let open = false;
    for (const p of line.points) {
      if (!p) {
        open = false;
        continue;
      }
      if (open) {
        ctx.lineTo(p[0], p[1]);
      } else {
        ctx.moveTo(p[0], p[1]);
        open = true;
      }
    }
    ctx.stroke();
  }

  const bottom = box.height - box.bottom;
  const plotH = bottom - box.top;
  const spacing = plot.axes.length > 1 ? (box.width - box.left - box.right) / (plot.axes.length - 1) : 200;
  ctx.font = style.font;
  ctx.fillStyle = style.text;
  for (const axis of plot.axes) {
    ctx.strokeStyle = style.axis;
    ctx.lineWidth = axis.objective ? 2 : 1;
    ctx.beginPath();
    ctx.moveTo(axis.x, box.top);
    ctx.lineTo(axis.x, bottom);
    ctx.stroke();
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(fit(ctx, axis.key, Math.max(40, spacing - 8)), axis.x, box.top - 14);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    for (const [text, p] of ticks(axis)) {
      ctx.fillText(fit(ctx, text, Math.max(30, spacing / 2)), axis.x + 4, box.top + (1 - p) * plotH);
    }
  }

  if (plot.lines.some(l => l.goodness !== null)) {
    const w = 80;
    const x = box.width - box.right - w;
    const y = box.height - 14;
    const gradient = ctx.createLinearGradient(x, 0, x + w, 0);
    STOPS.forEach((_, i) => gradient.addColorStop(i / (STOPS.length - 1), colormap(i / (STOPS.length - 1))));
    ctx.fillStyle = gradient;
    ctx.fillRect(x, y - 4, w, 8);
    ctx.fillStyle = style.text;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    ctx.fillText(style.worse, x - 4, y);
    ctx.textAlign = 'left';
    ctx.fillText(style.better, x + w + 4, y);
  }
}

/** ``text`` cut with an ellipsis to ``width`` pixels. */
function fit(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) {
    return text;
  }
  let cut = text;
  while (cut.length > 1 && ctx.measureText(cut + '…').width > width) {
    cut = cut.slice(0, -1);
  }
  return cut + '…';
}

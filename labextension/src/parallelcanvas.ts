/**
 * Painting a parallel-coordinates layout (parallelcoords.ts) on a ``<canvas>``: the lines batched by colour
 * (a canvas path per colour step, so thousands of lines stroke in a few calls), the ones outside the brushes
 * faded under the rest, then the axes with their labels and brushes, and the colour legend.
 */

import {
  brushSpan,
  colormap,
  COLOR_STOPS,
  FADED,
  GREY,
  IBrush,
  ILayout,
  ILine,
  ticks
} from './parallelcoords';

/** Colour steps lines are drawn in. */
const COLOR_STEPS = 64;

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
  /** The coloured lines' width (1.75 by default; thinner for many lines). */
  lineWidth?: number;
  /** The brushes' fill (a CSS colour). */
  brush?: string;
}

/** What else to draw: which lines are inside the brushes (by row index; all without), and the brushes. */
export interface IDrawExtras {
  inside?: boolean[];
  brushes?: IBrush[];
}

/** Paint ``plot`` on ``canvas`` (sized to the layout's box); the canvas stays transparent elsewhere. */
export function drawParallelCoords(
  canvas: HTMLCanvasElement,
  plot: ILayout,
  style: IDrawStyle,
  extras: IDrawExtras = {}
): void {
  const { box } = plot;
  const width = Math.round(box.width * style.dpr);
  const height = Math.round(box.height * style.dpr);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  canvas.style.width = `${box.width}px`;
  canvas.style.height = `${box.height}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx) {
    return;
  }
  ctx.setTransform(style.dpr, 0, 0, style.dpr, 0, 0);
  ctx.clearRect(0, 0, box.width, box.height);
  ctx.lineJoin = 'round';
  drawLines(ctx, plot, style, extras.inside);
  drawAxes(ctx, plot, style, extras.brushes ?? []);
}

/**
 * The lines, batched: the faded ones (outside the brushes) in one path, the grey ones in another, the
 * coloured ones in one path per colour step from the worst to the best, so the best are on top.
 */
function drawLines(
  ctx: CanvasRenderingContext2D,
  plot: ILayout,
  style: IDrawStyle,
  inside?: boolean[]
): void {
  const faded: ILine[] = [];
  const grey: ILine[] = [];
  const steps: ILine[][] = Array.from({ length: COLOR_STEPS }, () => []);
  for (const line of plot.lines) {
    if (inside && !inside[line.index]) {
      faded.push(line);
    } else if (line.goodness === null) {
      grey.push(line);
    } else {
      steps[Math.round(line.goodness * (COLOR_STEPS - 1))].push(line);
    }
  }
  stroke(ctx, faded, FADED, 1);
  stroke(ctx, grey, GREY, 1);
  steps.forEach((lines, i) => stroke(ctx, lines, colormap(i / (COLOR_STEPS - 1)), style.lineWidth ?? 1.75));
}

function stroke(ctx: CanvasRenderingContext2D, lines: ILine[], color: string, width: number): void {
  if (!lines.length) {
    return;
  }
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.beginPath();
  for (const line of lines) {
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
  }
  ctx.stroke();
}

function drawAxes(ctx: CanvasRenderingContext2D, plot: ILayout, style: IDrawStyle, brushes: IBrush[]): void {
  const { box } = plot;
  const bottom = box.height - box.bottom;
  const plotH = bottom - box.top;
  const spacing = plot.axes.length > 1 ? (box.width - box.left - box.right) / (plot.axes.length - 1) : 200;
  ctx.font = style.font;
  for (const axis of plot.axes) {
    for (const brush of brushes.filter(b => b.key === axis.key)) {
      const span = brushSpan(axis, brush);
      if (span) {
        const y0 = box.top + (1 - span[1]) * plotH;
        const y1 = box.top + (1 - span[0]) * plotH;
        ctx.fillStyle = style.brush ?? 'rgba(33, 150, 243, 0.25)';
        ctx.fillRect(axis.x - 7, y0, 14, Math.max(2, y1 - y0));
        ctx.strokeStyle = style.axis;
        ctx.lineWidth = 1;
        ctx.strokeRect(axis.x - 7, y0, 14, Math.max(2, y1 - y0));
      }
    }
    ctx.fillStyle = style.text;
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
    const labels = ticks(axis);
    // a categorical axis of many values: as many labels as fit, evenly picked
    const every = Math.max(1, Math.ceil(labels.length / Math.max(1, Math.floor(plotH / 14))));
    labels.forEach(([text, p], i) => {
      if (i % every === 0) {
        ctx.fillText(fit(ctx, text, Math.max(30, spacing / 2)), axis.x + 4, box.top + (1 - p) * plotH);
      }
    });
  }

  if (plot.lines.some(l => l.goodness !== null)) {
    const w = 80;
    const x = box.width - box.right - w;
    const y = box.height - 14;
    const gradient = ctx.createLinearGradient(x, 0, x + w, 0);
    for (let i = 0; i < COLOR_STOPS; i++) {
      gradient.addColorStop(i / (COLOR_STOPS - 1), colormap(i / (COLOR_STOPS - 1)));
    }
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

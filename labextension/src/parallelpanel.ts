/**
 * The compare view's parallel coordinates: the plot of parallelcoords.ts on a canvas (parallelcanvas.ts)
 * with its choices — which columns are axes, which one colours the lines and which end of it is better — and
 * brushing: a drag along an axis keeps the runs in that range, a click on an axis takes its brush off,
 * Escape (the canvas focused) clears them all; each brush is also a chip that removes it.
 */

import type { TranslationBundle } from '@jupyterlab/translation';

import { columnsOf, defaultAxes, defaultColor, lowerIsBetter, numericColumns } from './compare';
import { checkbox, el, labelled, Picker } from './comparepanel';
import { formatValue } from './format';
import { drawParallelCoords, IDrawStyle } from './parallelcanvas';
import {
  axisAt,
  brushFromPositions,
  brushMask,
  IAxis,
  IBrush,
  ILayout,
  layoutRows,
  positionAtY
} from './parallelcoords';
import type { IRunColumn, RunRow } from './runsapi';

const HEIGHT = 360;
/** A drag shorter than this (pixels) is a click. */
const CLICK = 3;

export interface IParallelPanelOptions {
  trans: TranslationBundle;
  /** The plot's width in CSS pixels. */
  width: () => number;
  /** The brushes changed: the view filters its table (synchronously: the time it takes is measured). */
  onBrush: () => void;
}

export class ParallelPanel {
  readonly node: HTMLDivElement;
  private _brushes: IBrush[] = [];
  private _color: string | null = null;
  private _axes: string[] | null = null;
  private _lowerIsBetter = false;
  private _rows: RunRow[] = [];
  private _inside: boolean[] = [];
  private _plot: ILayout | null = null;
  private _drag: { axis: IAxis; y0: number; y1: number } | null = null;
  private _frame = 0;
  private readonly _canvas: HTMLCanvasElement;
  private readonly _colorSelect: HTMLSelectElement;
  private readonly _lower: HTMLInputElement;
  private readonly _axesPicker: Picker;
  private readonly _chips: HTMLDivElement;

  constructor(private readonly opts: IParallelPanelOptions) {
    const { trans } = opts;
    this.node = el('div', 'jp-trio-parallel-panel');
    this._colorSelect = el('select', 'jp-mod-styled jp-trio-color-by');
    this._colorSelect.onchange = () => {
      this._color = this._colorSelect.value || null;
      this._lowerIsBetter = lowerIsBetter(this._color);
      this._lower.checked = this._lowerIsBetter;
      this._layout();
    };
    const lower = checkbox(trans.__('lower is better'), false, on => {
      this._lowerIsBetter = on;
      this._layout();
    });
    this._lower = lower.querySelector('input') as HTMLInputElement;
    this._axesPicker = new Picker(trans.__('Axes'), 'jp-trio-axes-picker');
    const clear = el('button', 'jp-mod-styled jp-trio-clear-brushes', trans.__('Clear brushes'));
    clear.onclick = () => this._setBrushes([]);
    this._chips = el('div', 'jp-trio-brushes');
    this._chips.setAttribute('aria-label', trans.__('Brushes'));
    const controls = el('div', 'jp-trio-toolbar');
    controls.append(
      labelled(trans.__('colour by'), this._colorSelect),
      lower,
      this._axesPicker.node,
      clear,
      this._chips
    );
    this._canvas = el('canvas', 'jp-trio-parallel jp-trio-compare-parallel');
    this._canvas.tabIndex = 0;
    this._canvas.setAttribute('role', 'img');
    this._canvas.setAttribute(
      'aria-label',
      trans.__('Parallel coordinates: drag along an axis to keep the runs in that range; Escape clears')
    );
    this._canvas.title = trans.__(
      'Drag along an axis to filter the runs; a click on an axis removes its brush'
    );
    this._listen(this._canvas);
    this.node.append(controls, this._canvas);
  }

  /** The column colouring the lines (the scatter plots it too). */
  get color(): string | null {
    return this._color;
  }

  get brushes(): IBrush[] {
    return this._brushes;
  }

  /** For each run of the last ``setRuns``, whether it is inside every brush. */
  get inside(): boolean[] {
    return this._inside;
  }

  /** New runs: a first reply makes the choices, a later one keeps those that still exist; then redraw. */
  setRuns(rows: RunRow[], columns: IRunColumn[]): void {
    const names = new Set(columns.map(c => c.name));
    const numeric = numericColumns(columns);
    if (this._color === null || !names.has(this._color)) {
      this._color = defaultColor(columns) ?? numeric[0] ?? null;
      this._lowerIsBetter = lowerIsBetter(this._color);
    }
    this._axes =
      this._axes === null ? defaultAxes(columns, rows, this._color) : this._axes.filter(n => names.has(n));
    this._brushes = this._brushes.filter(b => names.has(b.key));
    this._rows = rows;
    this._inside = brushMask(rows, valueOf, this._brushes);
    this._fillControls(columns, numeric);
    this._renderChips();
    this._layout();
  }

  /** Lay out again (a new width, new choices) and redraw. */
  relayout(): void {
    if (this._rows.length || this._plot) {
      this._layout();
    }
  }

  private _fillControls(columns: IRunColumn[], numeric: string[]): void {
    const trans = this.opts.trans;
    const groups = [
      { title: trans.__('parameters'), names: columnsOf(columns, 'param') },
      { title: trans.__('metrics'), names: columnsOf(columns, 'metric') },
      { title: trans.__('attributes'), names: columnsOf(columns, 'attribute') }
    ];
    this._axesPicker.fill(groups, new Set(this._axes ?? []), (name, on) => {
      const current = (this._axes ?? []).filter(n => n !== name);
      this._axes = on ? [...current, name] : current;
      if (!on && this._brushes.some(b => b.key === name)) {
        this._setBrushes(this._brushes.filter(b => b.key !== name));
      }
      this._layout();
    });
    this._colorSelect.replaceChildren(
      new Option(trans.__('(none)'), ''),
      ...numeric.map(name => new Option(name, name))
    );
    this._colorSelect.value = this._color ?? '';
    this._lower.checked = this._lowerIsBetter;
  }

  private _layout(): void {
    const color = this._color;
    this._plot = layoutRows(this._rows, {
      axes: (this._axes ?? []).map(key => ({ key, objective: key === color })),
      valueOf: (row, axis) => row[axis.key],
      colorOf: row => (color && typeof row[color] === 'number' ? (row[color] as number) : null),
      direction: this._lowerIsBetter ? 'minimize' : 'maximize',
      width: this.opts.width(),
      height: HEIGHT,
      margin: { left: 40, right: 90 }
    });
    const { axes, box, lines } = this._plot;
    this._canvas.dataset.axes = String(axes.length);
    this._canvas.dataset.lines = String(lines.length);
    // where the axes are (for the browser tests, which drag along them)
    this._canvas.dataset.layout = JSON.stringify({
      axes: axes.map(a => [a.key, a.x]),
      top: box.top,
      bottom: box.height - box.bottom
    });
    this._draw();
  }

  /** Paint the plot with the brushes (and the one being dragged). */
  private _draw(): void {
    const plot = this._plot;
    if (!plot) {
      return;
    }
    const started = performance.now();
    let brushes = this._brushes;
    let inside: boolean[] | undefined = brushes.length ? this._inside : undefined;
    const live = this._live();
    if (live) {
      brushes = [...brushes.filter(b => b.key !== live.key), live];
      inside = brushMask(this._rows, valueOf, brushes);
    }
    drawParallelCoords(this._canvas, plot, this._style(plot.lines.length), { inside, brushes });
    this._canvas.dataset.inside = String(inside ? inside.filter(Boolean).length : plot.lines.length);
    this._canvas.dataset.drawMs = (performance.now() - started).toFixed(1);
  }

  /** The brush being dragged; null when there is no drag (or only a click so far). */
  private _live(): IBrush | null {
    const { _drag: drag, _plot: plot } = this;
    if (!drag || !plot || Math.abs(drag.y1 - drag.y0) < CLICK) {
      return null;
    }
    return brushFromPositions(drag.axis, positionAtY(plot.box, drag.y0), positionAtY(plot.box, drag.y1));
  }

  private _style(lines: number): IDrawStyle {
    // a canvas takes no CSS variables: the theme's values, resolved
    const style = getComputedStyle(this.node);
    const css = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
    return {
      text: css('--jp-ui-font-color1', '#333'),
      axis: css('--jp-border-color1', '#999'),
      font: `${css('--jp-ui-font-size0', '11px')} ${css('--jp-ui-font-family', 'sans-serif')}`,
      dpr: window.devicePixelRatio || 1,
      worse: this.opts.trans.__('worse'),
      better: this.opts.trans.__('better'),
      lineWidth: lines > 500 ? 1 : 1.5
    };
  }

  private _listen(canvas: HTMLCanvasElement): void {
    const local = (e: PointerEvent) => {
      const r = canvas.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    canvas.addEventListener('pointerdown', e => {
      const [x, y] = local(e);
      const axis = this._plot ? axisAt(this._plot, x, y) : null;
      if (axis) {
        e.preventDefault();
        canvas.setPointerCapture(e.pointerId);
        this._drag = { axis, y0: y, y1: y };
      }
    });
    canvas.addEventListener('pointermove', e => {
      const [x, y] = local(e);
      if (!this._drag) {
        canvas.style.cursor = this._plot && axisAt(this._plot, x, y) ? 'ns-resize' : '';
        return;
      }
      this._drag.y1 = y;
      if (!this._frame) {
        this._frame = requestAnimationFrame(() => {
          this._frame = 0;
          this._draw();
        });
      }
    });
    canvas.addEventListener('pointerup', e => {
      if (!this._drag) {
        return;
      }
      this._drag.y1 = local(e)[1];
      const key = this._drag.axis.key;
      const brush = this._live();
      this._drag = null;
      const others = this._brushes.filter(b => b.key !== key);
      this._setBrushes(brush ? [...others, brush] : others); // a click takes the axis's brush off
    });
    canvas.addEventListener('pointercancel', () => {
      this._drag = null;
      this._draw();
    });
    canvas.addEventListener('keydown', e => {
      if (e.key === 'Escape' && this._brushes.length) {
        this._setBrushes([]);
      }
    });
  }

  /** New brushes: which runs are inside, the plot, then the view's table (the whole timed). */
  private _setBrushes(brushes: IBrush[]): void {
    const started = performance.now();
    this._brushes = brushes;
    this._inside = brushMask(this._rows, valueOf, brushes);
    this._draw();
    this._renderChips();
    this.opts.onBrush();
    this._canvas.dataset.brushes = String(brushes.length);
    this._canvas.dataset.brushMs = (performance.now() - started).toFixed(1);
  }

  /** Each brush as a chip that removes it (the keyboard's way to take one off). */
  private _renderChips(): void {
    const trans = this.opts.trans;
    this._chips.replaceChildren(
      ...this._brushes.map(b => {
        const range = b.categories
          ? b.categories.join(', ')
          : `${formatValue(b.min ?? null)} – ${formatValue(b.max ?? null)}`;
        const chip = el('button', 'jp-trio-brush-chip', `${b.key}: ${range} ✕`);
        chip.type = 'button';
        chip.dataset.key = b.key;
        chip.title = trans.__('Remove this brush');
        chip.onclick = () => this._setBrushes(this._brushes.filter(x => x !== b));
        return chip;
      })
    );
  }

  /** Whether a drag is under way (the view waits with reading the runs again). */
  get dragging(): boolean {
    return this._drag !== null;
  }

  dispose(): void {
    if (this._frame) {
      cancelAnimationFrame(this._frame);
    }
  }
}

function valueOf(row: RunRow, key: string): unknown {
  return row[key];
}

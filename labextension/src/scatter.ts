/**
 * The compare view's scatter of two numeric columns (uPlot, points only): the runs inside the brushes in
 * colour over the others in grey. The columns are picked in two selects; the points come from
 * ``scatterData`` (compare.ts).
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import uPlot from 'uplot';

import { scatterData } from './compare';
import { buildAxis } from './parallelcoords';
import type { RunRow } from './runsapi';

const INSIDE_COLOR = '#1f77b4';
const OUTSIDE_COLOR = 'rgba(128, 128, 128, 0.5)';

export class RunScatter {
  readonly node: HTMLDivElement;
  private _x: string | null = null;
  private _y: string | null = null;
  private _columns: string[] = [];
  private _chart: uPlot | null = null;
  private _chartKey = '';
  private _rows: RunRow[] = [];
  private _inside: boolean[] | undefined;
  private readonly _xSelect: HTMLSelectElement;
  private readonly _ySelect: HTMLSelectElement;
  private readonly _plot: HTMLDivElement;

  constructor(
    private readonly trans: TranslationBundle,
    private readonly width: () => number
  ) {
    this.node = document.createElement('div');
    this.node.className = 'jp-trio-scatter';
    const controls = document.createElement('div');
    controls.className = 'jp-trio-toolbar jp-trio-scatter-controls';
    this._xSelect = select();
    this._ySelect = select();
    this._xSelect.classList.add('jp-trio-scatter-x');
    this._ySelect.classList.add('jp-trio-scatter-y');
    this._xSelect.onchange = () => {
      this._x = this._xSelect.value;
      this._draw();
    };
    this._ySelect.onchange = () => {
      this._y = this._ySelect.value;
      this._draw();
    };
    controls.append(label(trans.__('x axis'), this._xSelect), label(trans.__('y axis'), this._ySelect));
    this._plot = document.createElement('div');
    this._plot.className = 'jp-trio-scatter-plot';
    this.node.append(controls, this._plot);
  }

  /** New runs or brushes: the choices stay where they still exist, or become ``x`` and ``y``. */
  update(
    rows: RunRow[],
    numeric: string[],
    inside: boolean[] | undefined,
    x: string | null,
    y: string | null
  ): void {
    this._rows = rows;
    this._inside = inside;
    if (numeric.join('\n') !== this._columns.join('\n')) {
      this._columns = numeric;
      for (const s of [this._xSelect, this._ySelect]) {
        s.replaceChildren(...numeric.map(name => new Option(name, name)));
      }
    }
    if (!this._x || !numeric.includes(this._x)) {
      this._x = x && numeric.includes(x) ? x : (numeric[0] ?? null);
    }
    if (!this._y || !numeric.includes(this._y)) {
      this._y = y && numeric.includes(y) ? y : (numeric[1] ?? numeric[0] ?? null);
    }
    this._xSelect.value = this._x ?? '';
    this._ySelect.value = this._y ?? '';
    this._draw();
  }

  private _draw(): void {
    const { _x: x, _y: y } = this;
    if (!x || !y) {
      this._chart?.destroy();
      this._chart = null;
      this._plot.textContent = this.trans.__('No numeric column to plot.');
      return;
    }
    const data = scatterData(this._rows, x, y, this._inside) as uPlot.AlignedData;
    this._plot.dataset.points = String(data[0].length);
    const width = this.width();
    // values over more than two decades (all positive): a log scale, as the parallel coordinates do
    const isLog = (values: unknown[]) => buildAxis('', values).kind === 'log';
    const xLog = isLog(data[0] as number[]);
    const yLog = isLog([...(data[1] as unknown[]), ...(data[2] as unknown[])]);
    const key = `${x}\n${y}\n${width}\n${xLog}\n${yLog}`;
    if (this._chart && this._chartKey === key) {
      this._chart.setData(data);
      return;
    }
    this._chart?.destroy();
    this._plot.textContent = '';
    this._chartKey = key;
    // a canvas takes no CSS variables: the theme's colours, resolved
    const style = getComputedStyle(this.node);
    const css = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
    const text = css('--jp-ui-font-color1', '#333');
    const grid = { stroke: css('--jp-border-color2', '#ddd'), width: 1 };
    const axis = (label: string) => ({ stroke: text, label, grid, ticks: grid });
    const points = (fill: string) => ({
      stroke: fill,
      paths: () => null,
      points: { show: true, size: 6, fill, stroke: fill }
    });
    const distr = (log: boolean) => (log ? { distr: 3 as const } : {});
    this._chart = new uPlot(
      {
        width,
        height: 300,
        scales: {
          x: { time: false, ...distr(xLog) },
          y: distr(yLog)
        },
        series: [
          { label: x },
          { label: this.trans.__('outside the brushes'), ...points(OUTSIDE_COLOR) },
          { label: this.trans.__('runs shown'), ...points(INSIDE_COLOR) }
        ],
        axes: [axis(x), axis(y)]
      },
      data,
      this._plot
    );
  }

  dispose(): void {
    this._chart?.destroy();
    this._chart = null;
  }
}

function select(): HTMLSelectElement {
  const s = document.createElement('select');
  s.className = 'jp-mod-styled';
  return s;
}

function label(text: string, control: HTMLElement): HTMLLabelElement {
  const l = document.createElement('label');
  l.append(`${text} `, control);
  return l;
}

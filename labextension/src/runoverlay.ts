/**
 * One tracked series of several runs (of any tasks) overlaid on one uPlot chart: the compare view's
 * metrics. Each run's points come from the same route the metrics view reads
 * (``GET /tasks/{name}/metrics/{key}?run=``, downsampled to the chart's width), aligned by step
 * (chartmath.ts) as the metrics view aligns a task's runs.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import uPlot from 'uplot';

import type { TrioAPI } from './api';
import { align, smooth } from './chartmath';
import type { RunRow } from './runsapi';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
/** At most this many runs on the chart (more lines are unreadable). */
export const MAX_OVERLAY = 12;

export class RunsOverlay {
  readonly node: HTMLDivElement;
  private _series: string | null = null;
  private _names: string[] = [];
  private _runs: RunRow[] = [];
  private _smoothing = 0;
  private _chart: uPlot | null = null;
  private _drawn = '';
  private _generation = 0;
  private readonly _select: HTMLSelectElement;
  private readonly _note: HTMLSpanElement;
  private readonly _plot: HTMLDivElement;

  constructor(
    private readonly api: TrioAPI,
    private readonly trans: TranslationBundle,
    private readonly width: () => number
  ) {
    this.node = document.createElement('div');
    this.node.className = 'jp-trio-overlay';
    const controls = document.createElement('div');
    controls.className = 'jp-trio-toolbar';
    this._select = document.createElement('select');
    this._select.className = 'jp-mod-styled jp-trio-overlay-series';
    this._select.onchange = () => {
      this._series = this._select.value;
      void this._draw();
    };
    const smoothing = document.createElement('input');
    smoothing.type = 'range';
    smoothing.min = '0';
    smoothing.max = '0.99';
    smoothing.step = '0.01';
    smoothing.value = '0';
    smoothing.onchange = () => {
      this._smoothing = Number(smoothing.value);
      this._drawn = '';
      void this._draw();
    };
    const seriesLabel = document.createElement('label');
    seriesLabel.append(`${trans.__('series:')} `, this._select);
    const smoothLabel = document.createElement('label');
    smoothLabel.append(`${trans.__('smoothing')} `, smoothing);
    this._note = document.createElement('span');
    this._note.className = 'jp-trio-overlay-note';
    controls.append(seriesLabel, smoothLabel, this._note);
    this._plot = document.createElement('div');
    this._plot.className = 'jp-trio-chart';
    this.node.append(controls, this._plot);
  }

  /**
   * The runs to overlay (the first MAX_OVERLAY) and the series the columns name; ``of`` is how many runs
   * were asked for (the note says when some are left out).
   */
  update(runs: RunRow[], series: string[], of: number, explicit: boolean): void {
    this._runs = runs.slice(0, MAX_OVERLAY);
    if (series.join('\n') !== this._names.join('\n')) {
      this._names = series;
      this._select.replaceChildren(...series.map(name => new Option(name, name)));
    }
    if (!this._series || !series.includes(this._series)) {
      this._series = series[0] ?? null;
    }
    this._select.value = this._series ?? '';
    const trans = this.trans;
    this._note.textContent =
      of > this._runs.length
        ? trans.__('the first %1 of %2 runs', this._runs.length, of)
        : explicit
          ? ''
          : trans.__('select runs in the table to choose which');
    void this._draw();
  }

  private async _draw(): Promise<void> {
    const key = this._series;
    const width = this.width();
    const runs = this._runs;
    const signature = [key, width, ...runs.map(r => `${r.task}#${r.run}`)].join('\n');
    if (signature === this._drawn) {
      return;
    }
    this._drawn = signature;
    const generation = ++this._generation;
    if (!key || !runs.length) {
      this._chart?.destroy();
      this._chart = null;
      this._plot.textContent = this.trans.__('No tracked series in these runs.');
      this._plot.dataset.lines = '0';
      return;
    }
    const series = await Promise.all(
      runs.map(r =>
        this.api
          .series(String(r.task), key, { run: Number(r.run), max_points: width })
          .catch(() => ({ steps: [] as number[], values: [] as (number | null)[] }))
      )
    );
    if (generation !== this._generation) {
      return; // a newer draw started meanwhile
    }
    const data = align(
      series.map(s => ({ steps: s.steps, values: smooth(s.values, this._smoothing) }))
    ) as uPlot.AlignedData;
    const labels = runs.map(r => this.trans.__('%1 run %2', String(r.task), String(r.run)));
    // a canvas takes no CSS variables: the theme's colours, resolved
    const style = getComputedStyle(this.node);
    const text = style.getPropertyValue('--jp-ui-font-color1').trim() || '#333';
    const grid = { stroke: style.getPropertyValue('--jp-border-color2').trim() || '#ddd', width: 1 };
    const axis = { stroke: text, grid, ticks: grid };
    this._chart?.destroy();
    this._plot.textContent = '';
    this._plot.dataset.key = key;
    this._plot.dataset.lines = String(runs.length);
    this._plot.dataset.points = String(data[0].length);
    this._chart = new uPlot(
      {
        title: key,
        width,
        height: 260,
        scales: { x: { time: false } },
        series: [
          { label: this.trans.__('step') },
          ...labels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 1.5 }))
        ],
        axes: [axis, axis]
      },
      data,
      this._plot
    );
  }

  dispose(): void {
    this._generation++;
    this._chart?.destroy();
    this._chart = null;
  }
}

/**
 * A task's tracked series in the main area: one uPlot canvas chart per series, several runs overlaid,
 * smoothing, log scale, and a zoom (drag a range) that asks the server for that range at full
 * resolution. The server downsamples to the chart's pixel width (min and max per bucket). The run's system
 * series (``sys/cpu``, ``sys/rss``, ``sys/io_*``, ``sys/gpu<N>_*``, sampled by its supervisor) are a group
 * of their own, after the series the code tracked.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import uPlot from 'uplot';

import { TrioAPI } from './api';
import { align, forLogScale, smooth } from './chartmath';
import type { IEvent } from './wire';

/** A series the run's supervisor sampled (CPU, memory, I/O, GPUs), not one the code tracked. */
export function isSystemSeries(key: string): boolean {
  return key.startsWith('sys/');
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

interface IRange {
  from?: number;
  to?: number;
}

export class MetricsView extends Widget {
  private _runs: number[] = [];
  private _selectedRuns = new Set<number>();
  private _keys: string[] = [];
  private _selectedKeys = new Set<string>();
  private _smoothing = 0;
  private _log = false;
  private _charts = new Map<string, uPlot>();
  private _ranges = new Map<string, IRange>();
  private readonly _controls: HTMLDivElement;
  private readonly _grid: HTMLDivElement;
  private readonly _system: HTMLDivElement;

  private _unsubscribe: () => void = () => undefined;
  private _pending = 0;

  constructor(
    private readonly api: TrioAPI,
    readonly taskName: string,
    private readonly trans: TranslationBundle,
    subscribe?: (fn: (event: IEvent) => void) => () => void
  ) {
    super();
    if (subscribe) {
      // live: a progress event of this task (new points) or its state change redraws, at most once a second
      this._unsubscribe = subscribe(event => {
        if (event.task?.name === this.taskName && !this._pending) {
          this._pending = window.setTimeout(() => {
            this._pending = 0;
            if (!this.isDisposed) {
              void this._drawAll();
            }
          }, 1000);
        }
      });
    }
    this.id = `trio-metrics-${taskName}`;
    this.title.label = trans.__('Metrics: %1', taskName);
    this.title.closable = true;
    this.addClass('jp-trio-metrics');
    this._controls = document.createElement('div');
    this._controls.className = 'jp-trio-toolbar';
    this._grid = document.createElement('div');
    this._grid.className = 'jp-trio-chart-grid';
    this._system = document.createElement('div');
    this._system.className = 'jp-trio-chart-grid jp-trio-system-charts';
    this._system.dataset.group = 'system';
    const heading = document.createElement('h3');
    heading.textContent = trans.__('System');
    this._system.append(heading);
    this._system.hidden = true;
    this.node.append(this._controls, this._grid, this._system);
    void this.refresh();
  }

  /** Read the runs and series names again, then redraw every chart. */
  async refresh(): Promise<void> {
    const task = await this.api.task(this.taskName);
    this._runs = (task.runs ?? []).map((r: any) => r.run_index);
    if (!this._selectedRuns.size && task.run_index) {
      this._selectedRuns.add(task.run_index);
    }
    const names = new Set<string>();
    for (const run of this._selectedRuns) {
      const index = await this.api.metricsIndex(this.taskName, run);
      Object.keys(index.series).forEach(k => names.add(k));
    }
    this._keys = [...names].sort();
    if (!this._selectedKeys.size) {
      this._keys.forEach(k => this._selectedKeys.add(k));
    }
    this._renderControls();
    await this._drawAll();
  }

  private _renderControls(): void {
    const c = this._controls;
    const trans = this.trans;
    c.innerHTML = '';
    const runs = document.createElement('span');
    runs.textContent = `${trans.__('runs:')} `;
    for (const run of this._runs) {
      runs.append(
        this._checkbox(`#${run}`, this._selectedRuns.has(run), on => {
          on ? this._selectedRuns.add(run) : this._selectedRuns.delete(run);
          void this.refresh();
        })
      );
    }
    const keys = document.createElement('span');
    keys.textContent = ` ${trans.__('series:')} `;
    const system = document.createElement('span');
    system.textContent = ` ${trans.__('system:')} `;
    for (const key of this._keys) {
      const sys = isSystemSeries(key);
      (sys ? system : keys).append(
        this._checkbox(sys ? key.slice(4) : key, this._selectedKeys.has(key), on => {
          on ? this._selectedKeys.add(key) : this._selectedKeys.delete(key);
          void this._drawAll();
        })
      );
    }
    const smoothing = document.createElement('input');
    smoothing.type = 'range';
    smoothing.min = '0';
    smoothing.max = '0.99';
    smoothing.step = '0.01';
    smoothing.value = String(this._smoothing);
    smoothing.className = 'jp-trio-smoothing';
    smoothing.oninput = () => {
      this._smoothing = Number(smoothing.value);
      void this._drawAll();
    };
    const smoothLabel = document.createElement('label');
    smoothLabel.append(` ${trans.__('smoothing')} `, smoothing);
    const log = this._checkbox(trans.__('log scale'), this._log, on => {
      this._log = on;
      this._charts.forEach(ch => ch.destroy());
      this._charts.clear();
      void this._drawAll();
    });
    const reset = document.createElement('button');
    reset.className = 'jp-mod-styled jp-trio-reset-zoom';
    reset.textContent = trans.__('Reset zoom');
    reset.onclick = () => {
      this._ranges.clear();
      void this._drawAll();
    };
    c.append(runs);
    if (!this._keys.length || !this._keys.every(isSystemSeries)) {
      c.append(keys);
    }
    if (this._keys.some(isSystemSeries)) {
      c.append(system);
    }
    c.append(smoothLabel, log, reset);
  }

  private _checkbox(label: string, checked: boolean, onChange: (on: boolean) => void): HTMLLabelElement {
    const el = document.createElement('label');
    el.className = 'jp-trio-check';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = checked;
    box.onchange = () => onChange(box.checked);
    el.append(box, ` ${label} `);
    return el;
  }

  private async _drawAll(): Promise<void> {
    for (const [key, chart] of this._charts) {
      if (!this._selectedKeys.has(key)) {
        chart.destroy();
        this._charts.delete(key);
        this._holder(key).remove();
      }
    }
    // the charts' places first, in name order (the replies come in any order)
    const keys = [...this._selectedKeys].sort();
    keys.forEach(key => this._holder(key));
    this._system.hidden = !keys.some(isSystemSeries);
    await Promise.all(keys.map(key => this._draw(key)));
  }

  /** The chart's place: in its group, in name order. */
  private _holder(key: string): HTMLDivElement {
    const group = isSystemSeries(key) ? this._system : this._grid;
    let holder = group.querySelector(`[data-key="${CSS.escape(key)}"]`) as HTMLDivElement | null;
    if (!holder) {
      holder = document.createElement('div');
      holder.className = 'jp-trio-chart';
      holder.dataset.key = key;
      const after = [...group.querySelectorAll<HTMLElement>('.jp-trio-chart')].find(
        el => (el.dataset.key ?? '') > key
      );
      group.insertBefore(holder, after ?? null);
    }
    return holder;
  }

  private _width(): number {
    return Math.max(300, Math.min(900, (this._grid.clientWidth || 900) - 16));
  }

  private async _draw(key: string): Promise<void> {
    const width = this._width();
    const range = this._ranges.get(key) ?? {};
    const runs = [...this._selectedRuns].sort((a, b) => a - b);
    const series = await Promise.all(
      runs.map(run =>
        this.api
          .series(this.taskName, key, {
            run,
            max_points: width,
            from_step: range.from,
            to_step: range.to
          })
          .catch(() => ({ steps: [], values: [], run, key }))
      )
    );
    const data = align(
      series.map(s => ({ steps: s.steps, values: smooth(s.values, this._smoothing) }))
    ) as uPlot.AlignedData;
    if (this._log) {
      for (let i = 1; i < data.length; i++) {
        (data as any)[i] = forLogScale((data as any)[i]);
      }
    }
    let chart = this._charts.get(key);
    const runLabels = runs.map(r => this.trans.__('run %1', r));
    const labels = runLabels.join(',');
    if (chart && (chart as any)._trioLabels === labels) {
      chart.setData(data);
      (chart.root.parentElement as HTMLElement).dataset.points = String(data[0].length);
      return;
    }
    chart?.destroy();
    const holder = this._holder(key);
    holder.innerHTML = '';
    const opts: uPlot.Options = {
      title: key,
      width,
      height: 220,
      scales: { x: { time: false }, y: this._log ? { distr: 3 } : {} },
      series: [
        { label: this.trans.__('step') },
        ...runLabels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 1.5 }))
      ],
      axes: [{ stroke: 'var(--jp-ui-font-color1)' as any }, { stroke: 'var(--jp-ui-font-color1)' as any }],
      cursor: { drag: { x: true, y: false } },
      hooks: {
        setSelect: [
          u => {
            if (u.select.width < 5) {
              return;
            }
            const from = Math.floor(u.posToVal(u.select.left, 'x'));
            const to = Math.ceil(u.posToVal(u.select.left + u.select.width, 'x'));
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            this._ranges.set(key, { from, to });
            void this._draw(key); // the zoomed range again, at full resolution
          }
        ]
      }
    };
    chart = new uPlot(opts, data, holder);
    (chart as any)._trioLabels = labels;
    holder.dataset.points = String(data[0].length);
    this._charts.set(key, chart);
  }

  dispose(): void {
    this._unsubscribe();
    if (this._pending) {
      clearTimeout(this._pending);
    }
    this._charts.forEach(c => c.destroy());
    this._charts.clear();
    super.dispose();
  }
}

/**
 * A sweep in the main area: "Compare trials" (the compare view), its summary, the optimisation history (each complete trial's value by number
 * and the best so far, uPlot), the parallel-coordinates plot of its trials (parallelcoords.ts, on a
 * canvas) and its parameters' importances as bars. Read again on each ``sweep`` event of it.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import uPlot from 'uplot';

import { TrioAPI } from './api';
import { optimisationHistory } from './chartmath';
import { formatValue } from './format';
import { refusalLabel, sweepStateLabel } from './labels';
import type { TrioModel } from './model';
import { drawParallelCoords } from './parallelcanvas';
import { layout } from './parallelcoords';
import type { IEvent, SweepInfo } from './wire';

const VALUE_COLOR = '#1f77b4';
const BEST_COLOR = '#d62728';

export class SweepView extends Widget {
  private _info: SweepInfo | null = null;
  private _importances: Record<string, number> = {};
  private _chart: uPlot | null = null;
  private _chartWidth = 0;
  private _pending = 0;
  private _unsubscribe: () => void = () => undefined;
  private readonly _summary: HTMLDivElement;
  private readonly _status: HTMLDivElement;
  private readonly _history: HTMLDivElement;
  private readonly _canvas: HTMLCanvasElement;
  private readonly _importancesList: HTMLDivElement;

  constructor(
    private readonly api: TrioAPI,
    private readonly model: TrioModel | null,
    readonly sweepName: string,
    private readonly trans: TranslationBundle,
    subscribe?: (fn: (event: IEvent) => void) => () => void,
    compare?: () => unknown
  ) {
    super();
    this.id = `trio-sweep-${sweepName}`;
    this.title.label = trans.__('Sweep: %1', sweepName);
    this.title.closable = true;
    this.addClass('jp-trio-sweepview');
    this.node.dataset.sweep = sweepName;

    this._summary = div('jp-trio-sweep-summary');
    this._status = div('jp-trio-sweep-status');
    this._history = div('jp-trio-sweep-history');
    this._canvas = document.createElement('canvas');
    this._canvas.className = 'jp-trio-parallel';
    this._importancesList = div('jp-trio-importances');
    const actions = div('jp-trio-toolbar jp-trio-sweep-actions');
    if (compare) {
      // the trials' runs in the compare view: a table, any columns, brushing, a scatter
      const button = document.createElement('button');
      button.className = 'jp-mod-styled jp-trio-sweep-compare';
      button.textContent = trans.__('Compare trials');
      button.title = trans.__('The trials’ runs in the compare view');
      button.onclick = () => void compare();
      actions.append(button);
    }
    this.node.append(
      actions,
      this._summary,
      this._status,
      section(trans.__('Optimisation history'), this._history),
      section(trans.__('Parameters and objective'), this._canvas),
      section(trans.__('Parameter importances'), this._importancesList)
    );

    if (subscribe) {
      this._unsubscribe = subscribe(event => this._onEvent(event));
    }
    void this.refresh();
  }

  /** Read the sweep and its importances again, then redraw. */
  async refresh(): Promise<void> {
    let info: SweepInfo;
    try {
      info = await this.api.sweep(this.sweepName);
    } catch (err: any) {
      this._status.textContent = this.trans.__(
        'Cannot read the sweep: %1 (%2)',
        refusalLabel(err?.status, this.trans),
        err?.message ?? String(err)
      );
      return;
    }
    const importances = await this.api.importances(this.sweepName).catch(() => ({ importances: {} }));
    if (this.isDisposed) {
      return;
    }
    this._status.textContent = '';
    this._info = info;
    this._importances = importances.importances ?? {};
    this.model?.setSweepDetail(info);
    this._render();
  }

  private _onEvent(event: IEvent): void {
    const mine =
      event.sweep &&
      (event.sweep.name === this.sweepName || (this._info !== null && event.sweep.id === this._info.id));
    if (event.type === 'sweep.deleted' && mine) {
      this._status.textContent = this.trans.__('This sweep was deleted.');
      return;
    }
    if ((event.type === 'sweep' && mine) || event.type === 'hello') {
      if (!this._pending) {
        this._pending = window.setTimeout(() => {
          this._pending = 0;
          if (!this.isDisposed) {
            void this.refresh();
          }
        }, 300);
      }
    }
  }

  private _width(): number {
    return Math.max(320, Math.min(1200, (this.node.clientWidth || 900) - 32));
  }

  private _render(): void {
    if (!this._info) {
      return;
    }
    this._renderSummary(this._info);
    this._renderHistory(this._info);
    this._renderParallel(this._info);
    this._renderImportances();
  }

  private _renderSummary(info: SweepInfo): void {
    const trans = this.trans;
    const direction =
      info.direction === 'maximize' ? trans._p('direction', 'maximize') : trans._p('direction', 'minimize');
    const parts = [
      sweepStateLabel(info.state, trans),
      trans.__('%1/%2 trials', info.trials_done, info.n_trials),
      trans.__('objective: %1, %2', info.metric, direction),
      trans.__('sampler %1, pruner %2', info.sampler, info.pruner)
    ];
    if (info.best) {
      parts.push(trans.__('best %1 (#%2)', formatValue(info.best.value), info.best.number));
    }
    this._summary.textContent = '';
    this._summary.dataset.state = info.state;
    this._summary.dataset.done = String(info.trials_done);
    const head = document.createElement('div');
    head.className = 'jp-trio-sweep-head';
    head.textContent = parts.join(' · ');
    this._summary.append(head);
    if (info.best?.params && Object.keys(info.best.params).length) {
      const params = document.createElement('div');
      params.className = 'jp-trio-sweep-best-params';
      params.textContent = trans.__(
        'best params: %1',
        Object.entries(info.best.params)
          .map(([k, v]) => `${k}=${typeof v === 'number' ? formatValue(v) : JSON.stringify(v)}`)
          .join(', ')
      );
      this._summary.append(params);
    }
    if (info.message) {
      const message = document.createElement('div');
      message.className = 'jp-trio-sweep-message';
      message.textContent = info.message;
      this._summary.append(message);
    }
  }

  private _renderHistory(info: SweepInfo): void {
    const h = optimisationHistory(info.trials, info.direction);
    const data: uPlot.AlignedData = [h.numbers, h.values, h.best];
    this._history.dataset.points = String(h.numbers.length);
    const width = this._width();
    if (this._chart && this._chartWidth === width) {
      this._chart.setData(data);
      return;
    }
    this._chart?.destroy();
    this._history.innerHTML = '';
    this._chartWidth = width;
    const axis = { stroke: 'var(--jp-ui-font-color1)' as any };
    const stepped = uPlot.paths.stepped;
    this._chart = new uPlot(
      {
        width,
        height: 240,
        scales: { x: { time: false } },
        series: [
          { label: this.trans.__('trial') },
          {
            label: info.metric,
            stroke: VALUE_COLOR,
            paths: () => null,
            points: { show: true, size: 7, fill: VALUE_COLOR }
          },
          {
            label: this.trans.__('best so far'),
            stroke: BEST_COLOR,
            width: 2,
            points: { show: false },
            ...(stepped ? { paths: stepped({ align: 1 }) } : {})
          }
        ],
        // trial numbers: whole ticks only
        axes: [{ ...axis, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }, axis]
      },
      data,
      this._history
    );
  }

  private _renderParallel(info: SweepInfo): void {
    const style = getComputedStyle(this.node);
    const css = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
    const plot = layout(info.trials, {
      metric: info.metric,
      direction: info.direction,
      width: this._width(),
      height: 340
    });
    this._canvas.dataset.lines = String(plot.lines.length);
    this._canvas.dataset.axes = String(plot.axes.length);
    drawParallelCoords(this._canvas, plot, {
      text: css('--jp-ui-font-color1', '#333'),
      axis: css('--jp-border-color1', '#999'),
      font: `${css('--jp-ui-font-size0', '11px')} ${css('--jp-ui-font-family', 'sans-serif')}`,
      dpr: window.devicePixelRatio || 1,
      worse: this.trans.__('worse'),
      better: this.trans.__('better')
    });
  }

  private _renderImportances(): void {
    const list = this._importancesList;
    list.innerHTML = '';
    const entries = Object.entries(this._importances).sort((a, b) => b[1] - a[1]);
    if (!entries.length) {
      list.append(div('jp-trio-empty', this.trans.__('Importances show once two trials have completed.')));
      return;
    }
    const top = Math.max(...entries.map(([, v]) => v)) || 1;
    for (const [name, value] of entries) {
      const row = div('jp-trio-importance');
      row.dataset.param = name;
      const bar = div('jp-trio-importance-bar');
      const fill = div('jp-trio-importance-fill');
      fill.style.width = `${Math.max(0, (100 * value) / top)}%`;
      bar.append(fill);
      row.append(
        div('jp-trio-importance-name', name),
        bar,
        div('jp-trio-importance-value', `${(100 * value).toFixed(1)}%`)
      );
      list.append(row);
    }
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._render();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._unsubscribe();
    if (this._pending) {
      clearTimeout(this._pending);
    }
    this._chart?.destroy();
    this._chart = null;
    super.dispose();
  }
}

function div(className: string, text?: string): HTMLDivElement {
  const el = document.createElement('div');
  el.className = className;
  if (text !== undefined) {
    el.textContent = text;
  }
  return el;
}

function section(title: string, body: HTMLElement): HTMLElement {
  const el = document.createElement('section');
  el.className = 'jp-trio-sweep-section';
  const h = document.createElement('h3');
  h.textContent = title;
  el.append(h, body);
  return el;
}

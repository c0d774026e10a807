/**
 * Runs compared in the main area: the runs a ``where`` query selects (``GET /trio/api/runs``, sorted by the
 * server), as a virtualised table (runtable.ts) of the columns picked — only the parameters that differ, if
 * asked — a parallel-coordinates plot of parameters and metrics (parallelpanel.ts) whose brushes filter the
 * table, a scatter of two columns (scatter.ts) and a tracked series of the selected runs overlaid
 * (runoverlay.ts). Read again when a task changes state.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import type { TrioAPI } from './api';
import {
  columnsOf,
  defaultColumns,
  differingColumns,
  nextSort,
  numericColumns,
  shownColumns
} from './compare';
import { checkbox, el, labelled, Picker, section } from './comparepanel';
import { refusalLabel } from './labels';
import { ParallelPanel } from './parallelpanel';
import { RunsOverlay } from './runoverlay';
import {
  errorPosition,
  fetchRuns,
  fetchRunsCsv,
  IRunColumn,
  IRunsQuery,
  IRunsReply,
  MAX_RUNS,
  metricSeries,
  SortOrder
} from './runsapi';
import { RunTable } from './runtable';
import { RunScatter } from './scatter';
import type { IEvent } from './wire';

/** A task event reads the runs again after this long (a burst of them, once). */
const REFRESH_MS = 1500;

export class CompareView extends Widget {
  private _where: string;
  private _reply: IRunsReply | null = null;
  private _sort: string | null = null;
  private _order: SortOrder = 'asc';
  private _picked: string[] | null = null;
  private _onlyDiffers = true;
  private _pending = 0;
  private _stale = false;
  private _loading = 0;
  private _unsubscribe: () => void = () => undefined;
  private readonly _input: HTMLInputElement;
  private readonly _count: HTMLSpanElement;
  private readonly _status: HTMLDivElement;
  private readonly _columnsPicker: Picker;
  private readonly _pc: ParallelPanel;
  private readonly _table: RunTable;
  private readonly _scatter: RunScatter;
  private readonly _overlay: RunsOverlay;

  constructor(
    private readonly api: TrioAPI,
    where: string,
    private readonly trans: TranslationBundle,
    subscribe?: (fn: (event: IEvent) => void) => () => void,
    title?: string
  ) {
    super();
    this._where = where;
    this.title.label = title ?? trans.__('Compare runs');
    this.title.caption = where || trans.__('every run');
    this.title.closable = true;
    this.addClass('jp-trio-compare');
    this.node.dataset.where = where;

    this._input = el('input', 'jp-mod-styled jp-trio-compare-where');
    this._input.value = where;
    this._input.placeholder = 'lr < 1e-3 and acc.max > 0.9 and status = completed';
    this._input.setAttribute(
      'aria-label',
      trans.__('Which runs (a query: lr < 1e-3 and status = completed)')
    );
    this._input.onkeydown = e => {
      if (e.key === 'Enter') {
        this._apply();
      }
    };
    this._count = el('span', 'jp-trio-compare-count');
    this._columnsPicker = new Picker(trans.__('Columns'), 'jp-trio-columns-picker');
    this._status = el('div', 'jp-trio-compare-status');
    this._status.setAttribute('role', 'status');

    this._pc = new ParallelPanel({
      trans,
      width: () => this._width(),
      onBrush: () => {
        this._update();
        this._refreshIfStale(); // what changed during the drag
      }
    });
    this._table = new RunTable({
      trans,
      onSort: column => {
        const next = nextSort({ sort: this._sort, order: this._order }, column);
        this._sort = next.sort;
        this._order = next.order;
        void this.refresh();
      },
      onSelect: () => this._update()
    });
    this._scatter = new RunScatter(trans, () => this._width());
    this._overlay = new RunsOverlay(api, trans, () => Math.min(900, this._width()));

    this.node.append(
      this._toolbar(),
      this._status,
      section(trans.__('Parameters and metrics'), 'jp-trio-compare-pc', this._pc.node),
      section(trans.__('Runs'), 'jp-trio-compare-runs', this._table.node),
      section(trans.__('Scatter'), 'jp-trio-compare-scatter', this._scatter.node),
      section(trans.__('Metrics of the selected runs'), 'jp-trio-compare-metrics', this._overlay.node)
    );
    if (subscribe) {
      this._unsubscribe = subscribe(event => this._onEvent(event));
    }
    void this.refresh();
  }

  /** The query the view shows. */
  get where(): string {
    return this._where;
  }

  /** Read the runs again (the query, the sort), then redraw everything. */
  async refresh(): Promise<void> {
    const started = performance.now();
    const loading = ++this._loading;
    this.node.dataset.loading = 'true';
    let reply: IRunsReply;
    try {
      reply = await fetchRuns(this.api, this._query());
    } catch (err: any) {
      if (loading === this._loading && !this.isDisposed) {
        this._refused(err);
        delete this.node.dataset.loading;
      }
      return;
    }
    if (loading !== this._loading || this.isDisposed) {
      return; // a newer read started meanwhile
    }
    this._status.textContent = '';
    this._input.removeAttribute('aria-invalid');
    this._reply = reply;
    const names = new Set(reply.columns.map(c => c.name));
    this._picked =
      this._picked === null ? defaultColumns(reply.columns) : this._picked.filter(n => names.has(n));
    this._fillColumnsPicker(reply.columns);
    this._pc.setRuns(reply.runs, reply.columns);
    this._update();
    delete this.node.dataset.loading;
    this.node.dataset.renderMs = (performance.now() - started).toFixed(1);
  }

  private _toolbar(): HTMLElement {
    const trans = this.trans;
    const apply = el('button', 'jp-mod-styled jp-mod-accept jp-trio-compare-apply', trans.__('Apply'));
    apply.onclick = () => this._apply();
    const csv = el('button', 'jp-mod-styled jp-trio-compare-csv', trans.__('Download CSV'));
    csv.onclick = () => void this._downloadCsv();
    const differs = checkbox(
      trans.__('Only what differs'),
      this._onlyDiffers,
      on => {
        this._onlyDiffers = on;
        this._update();
      },
      'jp-trio-only-differs'
    );
    differs.title = trans.__(
      'Show only the parameters whose values differ among the selected runs (none selected: the runs shown)'
    );
    const toolbar = el('div', 'jp-trio-toolbar jp-trio-compare-toolbar');
    toolbar.append(
      labelled(trans.__('where'), this._input, 'jp-trio-compare-query'),
      apply,
      this._count,
      differs,
      this._columnsPicker.node,
      csv
    );
    return toolbar;
  }

  private _query(): IRunsQuery {
    return { where: this._where, sort: this._sort ?? undefined, order: this._order, limit: MAX_RUNS };
  }

  private _apply(): void {
    this._where = this._input.value.trim();
    this.node.dataset.where = this._where;
    this.title.caption = this._where || this.trans.__('every run');
    void this.refresh();
  }

  /** The server refused: why, in the status line; a refused query marks the character it names. */
  private _refused(err: any): void {
    const message = err?.message ?? String(err);
    this._status.textContent = this.trans.__(
      'Cannot read the runs: %1 (%2)',
      refusalLabel(err?.status, this.trans),
      message
    );
    if (err?.status === 422) {
      this._input.setAttribute('aria-invalid', 'true');
      const at = errorPosition(message);
      if (at !== null) {
        this._input.focus();
        this._input.setSelectionRange(at, Math.min(this._input.value.length, at + 1));
      }
    }
  }

  private _fillColumnsPicker(columns: IRunColumn[]): void {
    const trans = this.trans;
    const groups = [
      { title: trans.__('attributes'), names: columnsOf(columns, 'attribute') },
      { title: trans.__('parameters'), names: columnsOf(columns, 'param') },
      { title: trans.__('metrics'), names: columnsOf(columns, 'metric') }
    ];
    this._columnsPicker.fill(groups, new Set(this._picked ?? []), (name, on) => {
      const next = new Set(this._picked ?? []);
      if (on) {
        next.add(name);
      } else {
        next.delete(name);
      }
      this._picked = columns.map(c => c.name).filter(n => next.has(n));
      this._update();
    });
  }

  /**
   * What follows from the runs, the brushes and the choices: the table's rows (those inside the brushes)
   * and columns (with "only what differs", the parameters that differ among the selected runs, or among
   * the rows shown when none is selected), the scatter and the overlay.
   */
  private _update(): void {
    const reply = this._reply;
    if (!reply) {
      return;
    }
    const rows = reply.runs;
    const inside = this._pc.brushes.length ? this._pc.inside : undefined;
    const shown = inside ? rows.filter((_, i) => inside[i]) : rows;
    const checked = this._table.selectedRows(rows);
    const compared = checked.length ? checked : shown;
    const params = columnsOf(reply.columns, 'param');
    const differing = differingColumns(compared, params);
    const byName = new Map(reply.columns.map(c => [c.name, c]));
    const columns = shownColumns(this._picked ?? [], reply.columns, this._onlyDiffers, differing).map(
      n => byName.get(n) as IRunColumn
    );
    this._table.setData(shown, columns, this._sort, this._order);
    this._table.node.dataset.total = String(reply.total);
    this.node.dataset.differing = [...differing].sort().join(',');

    const trans = this.trans;
    let count = trans.__('%1 of %2 runs shown', shown.length, rows.length);
    if (rows.length < reply.total) {
      count += ` · ${trans.__('the first %1 of %2 are loaded', rows.length, reply.total)}`;
    }
    this._count.textContent = count;
    this._count.dataset.shown = String(shown.length);

    const numeric = numericColumns(reply.columns);
    const firstParam = numeric.find(n => differing.has(n)) ?? numeric.find(n => params.includes(n)) ?? null;
    this._scatter.update(rows, numeric, inside, firstParam, this._pc.color);
    this._overlay.update(compared, metricSeries(reply.columns), compared.length, checked.length > 0);
  }

  private _width(): number {
    return Math.max(480, (this.node.clientWidth || 1000) - 40);
  }

  private async _downloadCsv(): Promise<void> {
    try {
      const text = await fetchRunsCsv(this.api, this._query());
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = 'runs.csv';
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err: any) {
      this._refused(err);
    }
  }

  /** A task changed state (or the channel reconnected): read the runs again, once per burst. */
  private _onEvent(event: IEvent): void {
    const relevant =
      event.type === 'hello' ||
      event.type === 'task.deleted' ||
      (event.type === 'task' && !!event.task?.status);
    if (!relevant || this._pending) {
      return;
    }
    this._pending = window.setTimeout(() => {
      this._pending = 0;
      if (this.isDisposed) {
        return;
      }
      if (!this.isVisible || this._pc.dragging) {
        this._stale = true; // read again when shown
        return;
      }
      void this.refresh();
    }, REFRESH_MS);
  }

  private _refreshIfStale(): void {
    if (this._stale && this.isVisible && !this._pc.dragging) {
      this._stale = false;
      void this.refresh();
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._refreshIfStale();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    if (this._reply) {
      this._pc.relayout();
      this._update();
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._unsubscribe();
    if (this._pending) {
      clearTimeout(this._pending);
    }
    this._pc.dispose();
    this._table.dispose();
    this._scatter.dispose();
    this._overlay.dispose();
    super.dispose();
  }
}

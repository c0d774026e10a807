/**
 * The compare view's run table, virtualised: the rows are a fixed height, and only those in view (plus a
 * few) are in the DOM, so 10,000 runs scroll as smoothly as ten. A header click asks for the server's sort
 * (the view reads the runs again); a row's checkbox selects it (shift: a range) for "only what differs" and
 * the metrics overlay.
 */

import type { TranslationBundle } from '@jupyterlab/translation';

import { rangeBetween } from './compare';
import { formatEta, formatValue } from './format';
import { kindLabel, statusLabel } from './labels';
import { IRunColumn, runKey, RunRow, SortOrder } from './runsapi';

/** A row's height in CSS pixels (the stylesheet's ``.jp-trio-runtable-row`` says the same). */
export const ROW_HEIGHT = 24;
const OVERSCAN = 8;
const CHECK_WIDTH = 28;

/** The rows [start, end) to put in the DOM for a scroll position: those in view and ``overscan`` more. */
export function rowWindow(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  total: number,
  overscan = OVERSCAN
): [number, number] {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const start = Math.max(0, first - overscan);
  const end = Math.min(total, first + Math.ceil(Math.max(0, viewport) / rowHeight) + overscan);
  return [Math.min(start, end), end];
}

/** A column's width in pixels, from its name. */
export function columnWidth(name: string): number {
  if (name === 'task') {
    return 180;
  }
  if (name === 'run') {
    return 56;
  }
  if (name === 'status') {
    return 104;
  }
  return Math.max(76, Math.min(200, name.length * 8 + 28));
}

/** How a cell shows a value: states and kinds translated, durations as times, numbers short. */
export function formatCell(name: string, v: unknown, trans: TranslationBundle): string {
  if (v === undefined || v === null || v === '') {
    return '—';
  }
  if (name === 'status' && typeof v === 'string') {
    return statusLabel(v, trans);
  }
  if (name === 'kind' && typeof v === 'string') {
    return kindLabel(v, trans);
  }
  if (name === 'duration' && typeof v === 'number') {
    return formatEta(v, trans) || '—';
  }
  if ((name === 'started_at' || name === 'ended_at') && typeof v === 'number') {
    return new Date(v < 1e12 ? v * 1000 : v).toLocaleString();
  }
  if (typeof v === 'number') {
    return Number.isInteger(v) && Math.abs(v) < 1e15 ? String(v) : formatValue(v);
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export interface IRunTableOptions {
  trans: TranslationBundle;
  /** A header was clicked: sort by this column. */
  onSort: (column: string) => void;
  /** The checked rows changed. */
  onSelect: () => void;
}

export class RunTable {
  readonly node: HTMLDivElement;
  /** The checked rows' keys (``runKey``). */
  readonly selected = new Set<string>();
  private _rows: RunRow[] = [];
  private _columns: IRunColumn[] = [];
  private _sort: string | null = null;
  private _order: SortOrder = 'asc';
  private _anchor: string | null = null;
  private _window: [number, number] = [0, 0];
  private _frame = 0;
  private readonly _scroller: HTMLDivElement;
  private readonly _header: HTMLDivElement;
  private readonly _spacer: HTMLDivElement;
  private readonly _body: HTMLDivElement;

  constructor(private readonly opts: IRunTableOptions) {
    this.node = el('div', 'jp-trio-runtable');
    this.node.setAttribute('role', 'grid');
    this._scroller = el('div', 'jp-trio-runtable-scroller');
    this._scroller.tabIndex = 0; // arrow keys and page up/down scroll it
    this._header = el('div', 'jp-trio-runtable-header');
    this._header.setAttribute('role', 'row');
    this._spacer = el('div', 'jp-trio-runtable-spacer');
    this._body = el('div', 'jp-trio-runtable-rows');
    this._spacer.append(this._body);
    this._scroller.append(this._header, this._spacer);
    this.node.append(this._scroller);
    this._scroller.addEventListener('scroll', () => this._schedule());
  }

  /** The rows shown, in the server's order, their columns and the sort the server applied. */
  setData(rows: RunRow[], columns: IRunColumn[], sort: string | null, order: SortOrder): void {
    this._rows = rows;
    this._columns = columns;
    this._sort = sort;
    this._order = order;
    this.node.dataset.rows = String(rows.length);
    this.node.setAttribute('aria-rowcount', String(rows.length + 1));
    this.node.setAttribute('aria-colcount', String(columns.length + 1));
    const template = [CHECK_WIDTH, ...columns.map(c => columnWidth(c.name))];
    this._scroller.style.setProperty('--jp-trio-runtable-columns', template.map(w => `${w}px`).join(' '));
    this._scroller.style.setProperty('--jp-trio-runtable-width', `${template.reduce((a, b) => a + b, 0)}px`);
    this._spacer.style.height = `${rows.length * ROW_HEIGHT}px`;
    this._renderHeader();
    this._window = [0, 0];
    this._renderRows(true);
  }

  /** The checked rows among ``rows`` (all the view has), in their order. */
  selectedRows(rows: RunRow[]): RunRow[] {
    return this.selected.size ? rows.filter(r => this.selected.has(runKey(r))) : [];
  }

  /** Draw again what is in view (after a resize). */
  refresh(): void {
    this._renderRows(true);
  }

  private _schedule(): void {
    if (!this._frame) {
      this._frame = requestAnimationFrame(() => {
        this._frame = 0;
        this._renderRows(false);
      });
    }
  }

  private _renderHeader(): void {
    const { trans } = this.opts;
    const head = this._header;
    head.innerHTML = '';
    const all = document.createElement('input');
    all.type = 'checkbox';
    all.className = 'jp-trio-runtable-check';
    all.setAttribute('aria-label', trans.__('Select every run shown'));
    const keys = this._rows.map(runKey);
    const count = keys.filter(k => this.selected.has(k)).length;
    all.checked = count > 0 && count === keys.length;
    all.indeterminate = count > 0 && count < keys.length;
    all.onchange = () => {
      keys.forEach(k => (all.checked ? this.selected.add(k) : this.selected.delete(k)));
      this._renderRows(true);
      this.opts.onSelect();
    };
    head.append(cell(all, 'columnheader'));
    this._columns.forEach(c => {
      const button = el('button', 'jp-trio-runtable-sort');
      button.type = 'button';
      const sorted = this._sort === c.name;
      const arrow = sorted ? (this._order === 'asc' ? ' ▲' : ' ▼') : '';
      button.textContent = c.name + arrow;
      button.title = trans.__('Sort by %1 (the server sorts every run)', c.name);
      button.onclick = () => this.opts.onSort(c.name);
      const th = cell(button, 'columnheader');
      th.dataset.column = c.name;
      th.dataset.kind = c.kind;
      th.setAttribute('aria-sort', sorted ? (this._order === 'asc' ? 'ascending' : 'descending') : 'none');
      if (c.type === 'number') {
        th.classList.add('jp-trio-numeric');
      }
      head.append(th);
    });
  }

  private _renderRows(force: boolean): void {
    const top = this._scroller.scrollTop;
    // the header is sticky, inside the scroller: the rows' viewport is what is under it
    const viewport = this._scroller.clientHeight || 360;
    const [start, end] = rowWindow(top, viewport, ROW_HEIGHT, this._rows.length);
    if (!force && start === this._window[0] && end === this._window[1]) {
      return;
    }
    this._window = [start, end];
    const { trans } = this.opts;
    const fragment = document.createDocumentFragment();
    for (let i = start; i < end; i++) {
      const row = this._rows[i];
      const key = runKey(row);
      const tr = el('div', 'jp-trio-runtable-row');
      tr.setAttribute('role', 'row');
      tr.setAttribute('aria-rowindex', String(i + 2));
      tr.dataset.key = key;
      tr.dataset.task = String(row.task ?? '');
      tr.dataset.run = String(row.run ?? '');
      const checked = this.selected.has(key);
      tr.classList.toggle('jp-mod-selected', checked);
      tr.setAttribute('aria-selected', String(checked));
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.className = 'jp-trio-runtable-check';
      box.checked = checked;
      box.setAttribute(
        'aria-label',
        trans.__('Select %1 run %2', String(row.task ?? ''), String(row.run ?? ''))
      );
      box.onclick = e => this._toggle(key, box.checked, e.shiftKey);
      tr.append(cell(box, 'gridcell'));
      for (const c of this._columns) {
        const v = row[c.name];
        const td = cell(null, 'gridcell');
        td.textContent = formatCell(c.name, v, trans);
        if (v !== null && v !== undefined) {
          td.title = typeof v === 'string' ? v : JSON.stringify(v);
        }
        if (c.type === 'number') {
          td.classList.add('jp-trio-numeric');
        }
        if (c.name === 'status' && typeof v === 'string') {
          td.classList.add(`jp-trio-status-${v}`);
        }
        tr.append(td);
      }
      fragment.append(tr);
    }
    this._body.style.transform = `translateY(${start * ROW_HEIGHT}px)`;
    this._body.replaceChildren(fragment);
  }

  private _toggle(key: string, on: boolean, range: boolean): void {
    const keys = range ? rangeBetween(this._rows.map(runKey), this._anchor, key) : [key];
    keys.forEach(k => (on ? this.selected.add(k) : this.selected.delete(k)));
    this._anchor = key;
    this._renderHeader();
    this._renderRows(true);
    this.opts.onSelect();
  }

  dispose(): void {
    if (this._frame) {
      cancelAnimationFrame(this._frame);
    }
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  return node;
}

function cell(child: HTMLElement | null, role: 'gridcell' | 'columnheader'): HTMLDivElement {
  const node = el('div', 'jp-trio-runtable-cell');
  node.setAttribute('role', role);
  if (child) {
    node.append(child);
  }
  return node;
}

/**
 * A run's log in the main area, followed over the existing log websocket (``…/logs/stream``). Rendering
 * is virtualised: only the rows in view (plus an overscan) exist in the DOM, so 100,000 lines scroll as
 * smoothly as 100.
 */

import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { TrioAPI } from './api';
import { LogBuffer, visibleRange } from './logbuffer';
import { statusLabel } from './labels';

const LINE_PX = 17;

export class LogViewer extends Widget {
  readonly buffer = new LogBuffer();
  private _socket: WebSocket | null = null;
  private _follow = true;
  private _stream: string;
  private _run: number | null = null;
  private _matches: number[] = [];
  private _match = -1;
  private _frame = 0;
  private _status = '';
  private readonly _scroller: HTMLDivElement;
  private readonly _spacer: HTMLDivElement;
  private readonly _rows: HTMLDivElement;
  private readonly _statusEl: HTMLSpanElement;
  private readonly _runSelect: HTMLSelectElement;
  private readonly _followBox: HTMLInputElement;
  private readonly _searchInfo: HTMLSpanElement;

  constructor(
    private readonly api: TrioAPI,
    readonly taskName: string,
    private readonly trans: TranslationBundle,
    stream = 'output'
  ) {
    super();
    this._stream = stream;
    this.addClass('jp-trio-log');
    this.id = `trio-log-${taskName}`;
    this.title.label = trans.__('Log: %1', taskName);
    this.title.closable = true;

    const bar = document.createElement('div');
    bar.className = 'jp-trio-toolbar';
    this._runSelect = document.createElement('select');
    this._runSelect.className = 'jp-trio-run-select';
    this._runSelect.onchange = () => this.reconnect(Number(this._runSelect.value));
    const streamSelect = document.createElement('select');
    streamSelect.className = 'jp-trio-stream-select';
    // stream names are what the programs write to: not translated
    for (const [value, label] of [
      ['output', 'stdout + stderr'],
      ['stdout', 'stdout'],
      ['stderr', 'stderr']
    ]) {
      const opt = new Option(label, value, value === stream, value === stream);
      streamSelect.add(opt);
    }
    streamSelect.onchange = () => {
      this._stream = streamSelect.value;
      this.reconnect(this._run);
    };
    const followLabel = document.createElement('label');
    this._followBox = document.createElement('input');
    this._followBox.type = 'checkbox';
    this._followBox.checked = true;
    this._followBox.className = 'jp-trio-follow';
    this._followBox.onchange = () => {
      this._follow = this._followBox.checked;
      if (this._follow) {
        this._scrollToEnd();
      }
    };
    followLabel.append(this._followBox, ' ', trans.__('follow'));
    const search = document.createElement('input');
    search.className = 'jp-trio-log-search jp-mod-styled';
    search.placeholder = trans.__('Search (Enter: next)');
    search.oninput = () => this.search(search.value);
    search.onkeydown = e => {
      if (e.key === 'Enter') {
        this.nextMatch(e.shiftKey ? -1 : 1);
      }
    };
    this._searchInfo = document.createElement('span');
    this._searchInfo.className = 'jp-trio-search-info';
    this._statusEl = document.createElement('span');
    this._statusEl.className = 'jp-trio-log-status';
    bar.append(this._runSelect, streamSelect, followLabel, search, this._searchInfo, this._statusEl);

    this._scroller = document.createElement('div');
    this._scroller.className = 'jp-trio-log-scroller';
    this._spacer = document.createElement('div');
    this._spacer.className = 'jp-trio-log-spacer';
    this._rows = document.createElement('div');
    this._rows.className = 'jp-trio-log-rows';
    this._spacer.appendChild(this._rows);
    this._scroller.appendChild(this._spacer);
    this._scroller.onscroll = () => {
      const atEnd =
        this._scroller.scrollTop + this._scroller.clientHeight >= this._scroller.scrollHeight - LINE_PX;
      if (!atEnd && this._follow) {
        this._follow = false; // the user scrolled up: pause following
        this._followBox.checked = false;
      }
      this._schedule();
    };
    this.node.append(bar, this._scroller);
    void this._loadRuns();
  }

  /** The follower's state in English (``following``, ``cancelled (exit -15)``...), whatever the UI language. */
  get status(): string {
    return this._status;
  }

  private async _loadRuns(): Promise<void> {
    try {
      const task = await this.api.task(this.taskName);
      this._runSelect.innerHTML = '';
      const runs: any[] = task.runs ?? [];
      for (const r of runs) {
        const label = this.trans.__('run %1 (%2)', r.run_index, statusLabel(r.status, this.trans));
        this._runSelect.add(new Option(label, String(r.run_index)));
      }
      const latest = task.run_index || null;
      if (latest) {
        this._runSelect.value = String(latest);
      }
      this.reconnect(latest);
    } catch (err: any) {
      const reason = err?.message ?? err;
      this._setStatus(`cannot load: ${reason}`, this.trans.__('cannot load: %1', reason));
    }
  }

  /** Follow ``run`` (null: the latest) from its first byte. */
  reconnect(run: number | null): void {
    this._socket?.close();
    this._run = run;
    this.buffer.clear();
    this._schedule();
    this._open(0);
  }

  private _open(offset: number): void {
    const query: Record<string, string | number | undefined> = { stream: this._stream, offset };
    if (this._run) {
      query.run = this._run;
    }
    const socket = this.api.openSocket(['tasks', this.taskName, 'logs', 'stream'], query);
    this._socket = socket;
    this._setStatus('following', this.trans.__('following'));
    socket.onmessage = ev => {
      const msg = JSON.parse(String(ev.data));
      if (msg.type === 'chunk') {
        this.buffer.append(msg.content, msg.next_offset);
        this._schedule();
      } else if (msg.type === 'status') {
        const exited = msg.exit_code !== null;
        const state = statusLabel(msg.status, this.trans);
        this._setStatus(
          `${msg.status}${exited ? ` (exit ${msg.exit_code})` : ''}`,
          exited ? this.trans.__('%1 (exit %2)', state, msg.exit_code) : state
        );
      }
    };
    socket.onclose = () => {
      if (this._socket !== socket || this.isDisposed) {
        return;
      }
      this._socket = null;
      if (!/completed|failed|cancelled|interrupted|pruned|deleted/.test(this._status)) {
        // dropped while the run goes on: pick up at the byte we stopped at
        setTimeout(() => !this.isDisposed && this._open(this.buffer.nextOffset), 1000);
      }
    };
  }

  /** ``status``: the English state the reconnect logic and ``data-status`` read; ``text``: what the user reads. */
  private _setStatus(status: string, text: string): void {
    this._status = status;
    this._statusEl.textContent = text;
    this._statusEl.dataset.status = status.split(' ')[0];
  }

  search(query: string): void {
    this._matches = this.buffer.search(query);
    this._match = -1;
    const n = this._matches.length;
    this._searchInfo.textContent = query ? this.trans._n('%1 line', '%1 lines', n) : '';
    if (this._matches.length) {
      this.nextMatch(1);
    }
    this._schedule();
  }

  nextMatch(step: number): void {
    if (!this._matches.length) {
      return;
    }
    this._match = (this._match + step + this._matches.length) % this._matches.length;
    this._follow = false;
    this._followBox.checked = false;
    this._scroller.scrollTop = Math.max(
      0,
      this._matches[this._match] * LINE_PX - this._scroller.clientHeight / 2
    );
    this._searchInfo.textContent = `${this._match + 1} / ${this._matches.length}`;
    this._schedule();
  }

  private _scrollToEnd(): void {
    this._scroller.scrollTop = this._scroller.scrollHeight;
  }

  private _schedule(): void {
    if (!this._frame) {
      this._frame = requestAnimationFrame(() => {
        this._frame = 0;
        this.paint();
      });
    }
  }

  /** Draw the rows in view. */
  paint(): void {
    const total = this.buffer.length;
    this._spacer.style.height = `${total * LINE_PX}px`;
    if (this._follow) {
      this._scrollToEnd();
    }
    const { start, end } = visibleRange(
      this._scroller.scrollTop,
      this._scroller.clientHeight || 600,
      LINE_PX,
      total
    );
    const current = this._match >= 0 ? this._matches[this._match] : -1;
    const matchSet = new Set(this._matches);
    const frag = document.createDocumentFragment();
    for (let i = start; i < end; i++) {
      const row = document.createElement('div');
      row.className = 'jp-trio-log-line';
      if (matchSet.has(i)) {
        row.classList.add(i === current ? 'jp-trio-log-current' : 'jp-trio-log-match');
      }
      row.textContent = this.buffer.line(i);
      frag.appendChild(row);
    }
    this._rows.style.transform = `translateY(${start * LINE_PX}px)`;
    this._rows.replaceChildren(frag);
    this.node.dataset.lines = String(total);
  }

  dispose(): void {
    const socket = this._socket;
    this._socket = null;
    socket?.close();
    if (this._frame) {
      cancelAnimationFrame(this._frame);
    }
    super.dispose();
  }
}

/**
 * A run's log as lines, grown chunk by chunk from the log websocket: a chunk may end mid-line, so the
 * last partial line is kept apart until its newline arrives. Pure, so the tests drive it.
 */
export class LogBuffer {
  readonly lines: string[] = [];
  private _partial = '';
  /** The byte offset to resume from (the websocket's ``next_offset``). */
  nextOffset = 0;

  append(content: string, nextOffset?: number): number {
    const text = this._partial + content;
    const parts = text.split('\n');
    this._partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
    }
    if (nextOffset !== undefined) {
      this.nextOffset = nextOffset;
    }
    return parts.length;
  }

  /** Lines including the unfinished last one (what the viewer shows). */
  get length(): number {
    return this.lines.length + (this._partial ? 1 : 0);
  }

  line(i: number): string {
    return i < this.lines.length ? this.lines[i] : this._partial;
  }

  clear(): void {
    this.lines.length = 0;
    this._partial = '';
    this.nextOffset = 0;
  }

  /** Indices of the lines containing ``query`` (case-insensitive); [] for an empty query. */
  search(query: string): number[] {
    const q = query.toLowerCase();
    if (!q) {
      return [];
    }
    const out: number[] = [];
    for (let i = 0; i < this.length; i++) {
      if (this.line(i).toLowerCase().includes(q)) {
        out.push(i);
      }
    }
    return out;
  }
}

/** The rows to draw for a scroll position: a window of lines around what is visible. */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  lineHeight: number,
  total: number,
  overscan = 20
): { start: number; end: number } {
  const first = Math.floor(scrollTop / lineHeight);
  const count = Math.ceil(viewportHeight / lineHeight);
  const start = Math.max(0, first - overscan);
  const end = Math.min(total, first + count + overscan);
  return { start, end: Math.max(start, end) };
}

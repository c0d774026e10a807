/**
 * The sidebar's selected tasks (by name), for "Compare (n)": a click on a row's checkbox or a ctrl/cmd-click
 * toggles one, a shift-click selects the range from the last one toggled. Pure, for the jest tests.
 */

import { rangeBetween } from './compare';

type Listener = () => void;

export class TaskSelection {
  private _names = new Set<string>();
  private _anchor: string | null = null;
  private _listeners = new Set<Listener>();
  /** The rows as shown, top to bottom: what a shift-click's range runs over (the sidebar sets it). */
  order: string[] = [];

  /** Called after every change. */
  subscribe(fn: Listener): () => void {
    this._listeners.add(fn);
    return () => this._listeners.delete(fn);
  }

  /** The selected names, in the order they were selected. */
  get names(): string[] {
    return [...this._names];
  }

  get size(): number {
    return this._names.size;
  }

  has(name: string): boolean {
    return this._names.has(name);
  }

  /** Select or unselect one task; it becomes the anchor of a later range. */
  toggle(name: string, on = !this._names.has(name)): void {
    if (on) {
      this._names.add(name);
    } else {
      this._names.delete(name);
    }
    this._anchor = name;
    this._changed();
  }

  /** Select or unselect several tasks at once (a section's "select all"). */
  setAll(names: string[], on: boolean): void {
    names.forEach(n => (on ? this._names.add(n) : this._names.delete(n)));
    this._changed();
  }

  /** Select every task from the anchor to ``name`` in ``order`` (the rows as shown). */
  extend(name: string, order: string[] = this.order): void {
    for (const n of rangeBetween(order, this._anchor, name)) {
      this._names.add(n);
    }
    this._anchor = name;
    this._changed();
  }

  clear(): void {
    if (!this._names.size) {
      return;
    }
    this._names.clear();
    this._anchor = null;
    this._changed();
  }

  /** Forget the tasks no longer listed (deleted ones). */
  retain(existing: Set<string>): void {
    const gone = this.names.filter(n => !existing.has(n));
    if (gone.length) {
      gone.forEach(n => this._names.delete(n));
      this._changed();
    }
  }

  private _changed(): void {
    this._listeners.forEach(fn => fn());
  }
}

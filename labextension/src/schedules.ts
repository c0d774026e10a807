/**
 * The schedules the sidebar lists: what ``GET /trio/api/schedules`` gave, kept current by the events
 * channel's ``schedule`` and ``schedule.deleted`` events. Pure (the model owns one; jest drives it).
 */

import type { ScheduleInfo } from './notebookjobs';

/** A ``schedule`` / ``schedule.deleted`` event's payload. */
export interface IScheduleEvent {
  type: string;
  schedule?: Partial<ScheduleInfo> & { id: string };
}

export class ScheduleStore {
  private readonly _items = new Map<string, ScheduleInfo>();

  get size(): number {
    return this._items.size;
  }

  get(id: string): ScheduleInfo | undefined {
    return this._items.get(id);
  }

  /** Replace everything with the REST list. */
  load(items: ScheduleInfo[]): void {
    this._items.clear();
    for (const s of items) {
      this._items.set(s.id, s);
    }
  }

  /** Apply one event; false when it changes nothing (another type, or a patch of a schedule not known). */
  apply(event: IScheduleEvent): boolean {
    const patch = event.schedule;
    if (!patch) {
      return false;
    }
    if (event.type === 'schedule.deleted') {
      return this._items.delete(patch.id);
    }
    if (event.type !== 'schedule') {
      return false;
    }
    const prev = this._items.get(patch.id);
    if (!prev && (!patch.task || patch.cron === undefined)) {
      return false; // a partial patch of one the list did not show: the next refetch brings it
    }
    this._items.set(patch.id, { ...(prev ?? { paused: false, next_fire: null }), ...patch } as ScheduleInfo);
    return true;
  }

  /**
   * The schedules ``filter`` (lower case) matches by task, cron or timezone: the next to fire first, the
   * paused and finished ones last, by task name.
   */
  list(filter = ''): ScheduleInfo[] {
    const f = filter.trim().toLowerCase();
    const order = (s: ScheduleInfo) => (s.paused || s.next_fire === null ? Infinity : s.next_fire);
    return [...this._items.values()]
      .filter(
        s =>
          !f ||
          s.task.toLowerCase().includes(f) ||
          s.cron.toLowerCase().includes(f) ||
          s.timezone.toLowerCase().includes(f)
      )
      .sort((a, b) => order(a) - order(b) || a.task.localeCompare(b.task) || a.id.localeCompare(b.id));
  }
}

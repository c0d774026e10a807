/**
 * Schedules in the sidebar: next fire times as words, the store the events keep current, the model's
 * ``schedule`` events, and a notebook job's cell progress.
 */

import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';

import { TrioModel } from '../model';
import type { ScheduleInfo } from '../notebookjobs';
import {
  browserTimezone,
  formatFireTime,
  formatRelative,
  formatSpan,
  looksLikeCron,
  nextFireText
} from '../schedulefmt';
import { ScheduleSection } from '../schedulesection';
import { ScheduleStore } from '../schedules';
import { ProgressBar } from '../taskrow';
import type { ITask } from '../wire';

// jest's CommonJS require (the test tsconfig types jest only, not node; react-dom comes untyped)
declare const require: (path: string) => any;
const { renderToStaticMarkup } = require('react-dom/server');

const trans = nullTranslator.load('jupyter_trio');

function schedule(id: string, task: string, extra: Partial<ScheduleInfo> = {}): ScheduleInfo {
  return {
    id,
    task,
    task_id: `T-${task}`,
    owner: 'alice',
    cron: '*/5 * * * *',
    timezone: 'UTC',
    overlap: 'skip',
    catchup: 'skip',
    mode: 'rerun',
    paused: false,
    next_fire: 1000,
    last_fire: null,
    fires: 0,
    skipped: 0,
    pending: 0,
    last_task: '',
    message: '',
    created_at: 1,
    updated_at: 1,
    ...extra
  };
}

describe('schedule formatting', () => {
  it('writes spans short', () => {
    expect(formatSpan(42, trans)).toBe('42s');
    expect(formatSpan(185, trans)).toBe('3m 05s');
    expect(formatSpan(2 * 3600 + 5 * 60, trans)).toBe('2h 05m');
    expect(formatSpan(3 * 86400 + 4 * 3600 + 59, trans)).toBe('3d 4h');
    expect(formatSpan(-5, trans)).toBe('0s');
  });

  it('says how far a fire time is from now', () => {
    const now = 1_000_000 * 1000;
    expect(formatRelative(1_000_000 + 185, now, trans)).toBe('in 3m 05s');
    expect(formatRelative(1_000_000 - 7200, now, trans)).toBe('2h 00m ago');
    expect(formatRelative(1_000_000, now + 400, trans)).toBe('now');
  });

  it('writes a fire time in the given locale and zone', () => {
    // 2024-03-01 13:05 UTC
    const t = Date.UTC(2024, 2, 1, 13, 5) / 1000;
    const text = formatFireTime(t, { locale: 'en-US', timeZone: 'UTC' });
    expect(text).toContain('Mar');
    expect(text).toContain('2024');
    expect(text).toMatch(/01:05\sPM|13:05/);
    expect(formatFireTime(t, { locale: 'en-US', timeZone: 'Asia/Shanghai' })).toMatch(/09:05\sPM|21:05/);
  });

  it('says a paused schedule or one without a next fire', () => {
    expect(nextFireText({ paused: true, next_fire: 5 }, 0, trans)).toEqual({ when: 'paused', relative: '' });
    expect(nextFireText({ paused: false, next_fire: null }, 0, trans)).toEqual({
      when: 'no next fire',
      relative: ''
    });
    const next = nextFireText({ paused: false, next_fire: 3600 }, 0, trans, {
      locale: 'en-US',
      timeZone: 'UTC'
    });
    expect(next.relative).toBe('in 1h 00m');
    expect(next.when).toContain('1970');
  });

  it('tells a cron line by its shape', () => {
    expect(looksLikeCron('*/5 * * * *')).toBe(true);
    expect(looksLikeCron('0 9 * * MON-FRI')).toBe(true);
    expect(looksLikeCron('0 0 9 * * 1-5')).toBe(true);
    expect(looksLikeCron('@daily')).toBe(true);
    expect(looksLikeCron('* * * *')).toBe(false);
    expect(looksLikeCron('every day')).toBe(false);
    expect(looksLikeCron('* * * * * * *')).toBe(false);
  });

  it('knows the browser zone', () => {
    expect(browserTimezone()).toMatch(/\w/);
  });
});

describe('ScheduleStore', () => {
  it('lists the next to fire first, paused last, and filters', () => {
    const store = new ScheduleStore();
    store.load([
      schedule('a', 'late', { next_fire: 300 }),
      schedule('b', 'soon', { next_fire: 100 }),
      schedule('c', 'held', { paused: true, next_fire: null }),
      schedule('d', 'nightly', { next_fire: 200, cron: '0 2 * * *', timezone: 'Asia/Shanghai' })
    ]);
    expect(store.list().map(s => s.task)).toEqual(['soon', 'nightly', 'late', 'held']);
    expect(store.list('shanghai').map(s => s.task)).toEqual(['nightly']);
    expect(store.list('0 2').map(s => s.task)).toEqual(['nightly']);
  });

  it('applies schedule and schedule.deleted events', () => {
    const store = new ScheduleStore();
    store.load([schedule('a', 'job')]);
    expect(store.apply({ type: 'schedule', schedule: { id: 'a', paused: true, next_fire: null } })).toBe(
      true
    );
    expect(store.get('a')).toMatchObject({ task: 'job', paused: true, next_fire: null });
    // a patch of one the list did not show is left to the next refetch; a whole one is added
    expect(store.apply({ type: 'schedule', schedule: { id: 'x', paused: true } })).toBe(false);
    expect(store.apply({ type: 'schedule', schedule: schedule('b', 'new') })).toBe(true);
    expect(store.size).toBe(2);
    expect(store.apply({ type: 'schedule.deleted', schedule: { id: 'a' } })).toBe(true);
    expect(store.apply({ type: 'schedule.deleted', schedule: { id: 'a' } })).toBe(false);
    expect(store.apply({ type: 'schedule' })).toBe(false);
    expect(store.list().map(s => s.id)).toEqual(['b']);
  });
});

describe('TrioModel schedules', () => {
  it('loads them with the lists, and keeps them when a load has none', () => {
    const m = new TrioModel();
    m.load([], [], 1, [], [schedule('a', 'job')]);
    m.load([], [], 2);
    expect(m.scheduleList().map(s => s.id)).toEqual(['a']);
  });

  it('follows the events once each, and filters them with the tasks', () => {
    const m = new TrioModel();
    m.load([], [], 1, [], []);
    let changes = 0;
    m.subscribe(() => changes++);
    expect(m.apply({ id: 2, type: 'schedule', schedule: schedule('a', 'nightly-report') })).toBe(true);
    expect(m.apply({ id: 2, type: 'schedule', schedule: schedule('a', 'nightly-report') })).toBe(false);
    expect(m.apply({ id: 3, type: 'schedule', schedule: { id: 'a', paused: true } })).toBe(true);
    expect(m.scheduleList()[0].paused).toBe(true);
    m.filter = 'other';
    expect(m.scheduleList()).toEqual([]);
    m.filter = 'report';
    expect(m.scheduleList().length).toBe(1);
    expect(m.apply({ id: 4, type: 'schedule.deleted', schedule: { id: 'a' } })).toBe(true);
    expect(m.scheduleList()).toEqual([]);
    expect(changes).toBe(5); // two events, two filters, the delete
  });
});

describe('a notebook job in the sidebar', () => {
  const job = (): ITask => ({
    id: 'T1',
    name: 'report',
    kind: 'notebook_job',
    status: 'running',
    run: 1,
    gpus: [],
    pinned: false,
    created_at: 1
  });

  it('shows the cell running, and forgets it when the run ends', () => {
    const m = new TrioModel();
    m.load([job()], [], 1);
    m.apply({
      id: 2,
      type: 'task.progress',
      task: { id: 'T1', run: 1, progress: 0.3, cell: 3, cells: 10, stage: 'cell 3/10: import pandas' }
    });
    const t = m.tasks.get('T1')!;
    const html = renderToStaticMarkup(React.createElement(ProgressBar, { task: t, trans }));
    expect(html).toContain('cell 3/10');
    expect(html).toContain('data-cell="3"');
    expect(html).toContain('title="cell 3/10: import pandas"');
    // a refetch keeps the progress of the same run
    m.load([job()], [], 2);
    expect(m.tasks.get('T1')).toMatchObject({ cell: 3, cells: 10 });
    m.apply({ id: 3, type: 'task', task: { id: 'T1', status: 'completed' } });
    expect(m.tasks.get('T1')!.cell).toBeUndefined();
    expect(m.tasks.get('T1')!.cells).toBeUndefined();
  });

  it('renders the schedules section', () => {
    const opts: any = { trans, api: null, commands: null, confirmDelete: () => true };
    const html = renderToStaticMarkup(
      React.createElement(ScheduleSection, {
        schedules: [
          schedule('a', 'report', { next_fire: Date.now() / 1000 + 600 }),
          schedule('b', 'held', { paused: true })
        ],
        opts
      })
    );
    expect(html).toContain('data-group="schedules"');
    expect(html).toContain('data-task="report"');
    expect(html).toContain('*/5 * * * *');
    expect(html).toMatch(/next: .* \(in (9m|10m) \d\ds\)/);
    expect(html).toContain('data-paused="true"');
    expect(html).toContain('Resume');
    const empty = renderToStaticMarkup(React.createElement(ScheduleSection, { schedules: [], opts }));
    expect(empty).toContain('none');
  });
});

import { nullTranslator } from '@jupyterlab/translation';

import { formatBytes, formatEta } from '../format';
import { statusLabel, unleasedNote } from '../labels';
import { TrioModel } from '../model';
import { ITask, taskFromRest } from '../wire';

const trans = nullTranslator.load('jupyter_trio');

function task(id: string, status: ITask['status'], extra: Partial<ITask> = {}): ITask {
  return {
    id,
    name: `t-${id}`,
    kind: 'script',
    status,
    run: 1,
    gpus: [],
    pinned: false,
    created_at: Number(id.slice(1)),
    ...extra
  };
}

describe('TrioModel', () => {
  it('groups tasks by state, in order, with a recent cap', () => {
    const m = new TrioModel();
    m.load(
      [
        task('T3', 'running', { started_at: 30 }),
        task('T1', 'running', { started_at: 10 }),
        task('T5', 'queued'),
        task('T4', 'queued'),
        task('T6', 'completed', { ended_at: 60 }),
        task('T7', 'failed', { ended_at: 70 }),
        task('T8', 'pending')
      ],
      [],
      100
    );
    const g = m.groups(1);
    expect(g.running.map(t => t.id)).toEqual(['T1', 'T3']);
    expect(g.queued.map(t => t.id)).toEqual(['T4', 'T5']);
    expect(g.finished.map(t => t.id)).toEqual(['T7']);
    expect(g.pending.map(t => t.id)).toEqual(['T8']);
    expect(m.activeCount).toBe(4);
  });

  it('applies task events, ignores replays and stale progress', () => {
    const m = new TrioModel();
    m.load([task('T1', 'queued')], [], 10);
    expect(m.apply({ id: 11, type: 'task', task: { id: 'T1', status: 'running', run: 1 } })).toBe(true);
    expect(m.tasks.get('T1')!.status).toBe('running');
    expect(m.apply({ id: 11, type: 'task', task: { id: 'T1', status: 'queued' } })).toBe(false);
    expect(m.apply({ id: 9, type: 'task', task: { id: 'T1', status: 'queued' } })).toBe(false);
    expect(m.tasks.get('T1')!.status).toBe('running');
    m.apply({ id: 12, type: 'task.progress', task: { id: 'T1', run: 1, progress: 0.5, eta_s: 30 } });
    expect(m.tasks.get('T1')!.progress).toBe(0.5);
    // progress of another run of the same task is not this run's
    m.apply({ id: 13, type: 'task.progress', task: { id: 'T1', run: 0, progress: 0.9 } });
    expect(m.tasks.get('T1')!.progress).toBe(0.5);
    // the run ends: its progress goes with it
    m.apply({ id: 14, type: 'task', task: { id: 'T1', status: 'completed', run: 1 } });
    expect(m.tasks.get('T1')!.progress).toBeUndefined();
    expect(m.lastEventId).toBe(14);
  });

  it('adds tasks it did not know and removes deleted ones', () => {
    const m = new TrioModel();
    m.load([], [], null);
    m.apply({ id: 1, type: 'task.progress', task: { id: 'T9', progress: 0.1 } });
    expect(m.tasks.size).toBe(0); // progress alone cannot make a row
    m.apply({
      id: 2,
      type: 'task',
      task: { id: 'T9', name: 'new', kind: 'shell', status: 'queued', run: 1, created_at: 5 }
    });
    expect(m.byName('new')!.status).toBe('queued');
    m.apply({ id: 3, type: 'task.deleted', task: { id: 'T9', name: 'new' } });
    expect(m.tasks.size).toBe(0);
  });

  it('filters by name, kind or state and tells listeners', () => {
    const m = new TrioModel();
    let calls = 0;
    m.subscribe(() => calls++);
    m.load(
      [task('T1', 'running', { name: 'resnet-lr0.1' }), task('T2', 'completed', { kind: 'train' })],
      [],
      1
    );
    m.filter = 'RESNET';
    expect(m.groups().running.map(t => t.id)).toEqual(['T1']);
    expect(m.groups().finished).toEqual([]);
    m.filter = 'train';
    expect(m.groups().finished.map(t => t.id)).toEqual(['T2']);
    expect(calls).toBe(3);
  });

  it('filters by the state and kind labels of the user’s language too', () => {
    const m = new TrioModel();
    m.load([task('T1', 'running'), task('T2', 'queued')], [], 1);
    m.labelsOf = t => (t.status === 'running' ? '运行中 脚本' : '排队中 脚本');
    m.filter = '运行中';
    expect(m.groups().running.map(t => t.id)).toEqual(['T1']);
    expect(m.groups().queued).toEqual([]);
  });

  it('keeps dataset import progress only while copying', () => {
    const m = new TrioModel();
    m.load([], [{ id: 'D1', name: 'd', dataset_type: 'classification', status: 'checking' }], 1);
    m.apply({ id: 2, type: 'dataset', dataset: { id: 'D1', status: 'copying' } });
    m.apply({ id: 3, type: 'dataset.progress', dataset: { id: 'D1', progress: 0.4 } });
    expect(m.datasets.get('D1')!.progress).toBe(0.4);
    m.apply({ id: 4, type: 'dataset', dataset: { id: 'D1', status: 'imported', num_images: 9 } });
    expect(m.datasets.get('D1')!.progress).toBeUndefined();
    expect(m.datasets.get('D1')!.num_images).toBe(9);
  });

  it('throttles GPU readings to the refresh setting', () => {
    const m = new TrioModel();
    let now = 0;
    m.now = () => now;
    m.gpuMinIntervalMs = 5000;
    const reading = (u: number) => [
      { index: 0, utilization: u, memory_used: 1, memory_total: 2, task: null }
    ];
    m.apply({ id: 1, type: 'gpus', gpus: reading(10) });
    now = 2000;
    m.apply({ id: 2, type: 'gpus', gpus: reading(20) });
    expect(m.gpus[0].utilization).toBe(10);
    now = 6000;
    m.apply({ id: 3, type: 'gpus', gpus: reading(30) });
    expect(m.gpus[0].utilization).toBe(30);
  });

  it('keeps a running task’s progress across a refetch of the lists', () => {
    const m = new TrioModel();
    m.load([task('T1', 'running')], [], 1);
    m.apply({ id: 2, type: 'task.progress', task: { id: 'T1', run: 1, progress: 0.3 } });
    m.load([task('T1', 'running')], [], 2);
    expect(m.tasks.get('T1')!.progress).toBe(0.3);
    m.load([task('T1', 'completed')], [], 3);
    expect(m.tasks.get('T1')!.progress).toBeUndefined();
  });
});

describe('formatting', () => {
  it('formats ETAs and sizes', () => {
    expect(formatEta(42, trans)).toBe('42s');
    expect(formatEta(185, trans)).toBe('3m 05s');
    expect(formatEta(3720, trans)).toBe('1h 02m');
    expect(formatEta(undefined, trans)).toBe('');
    expect(statusLabel('running', trans)).toBe('running');
    expect(statusLabel('some-new-state', trans)).toBe('some-new-state');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(80 * 1024 ** 3)).toBe('80 GiB');
    expect(formatBytes(null)).toBe('?');
  });

  it('reads REST rows', () => {
    const t = taskFromRest({
      id: 'T1',
      name: 'a',
      kind: 'train',
      status: 'failed',
      run_index: 2,
      assigned_gpus: [1],
      pinned: true,
      error: 'boom',
      created_at: 1
    });
    expect([t.run, t.gpus, t.pinned, t.message]).toEqual([2, [1], true, 'boom']);
  });
  it('names the processes using a GPU without its lease', () => {
    expect(unleasedNote(undefined, trans)).toBe('');
    expect(unleasedNote([], trans)).toBe('');
    const note = unleasedNote(
      [
        { pid: 41, user: 'bob', memory_used: 1024 },
        { pid: 42, user: '', memory_used: null }
      ],
      trans
    );
    expect(note).toBe('used without a lease by pid 41 (bob), pid 42');
  });
});

/**
 * Issue 34 in the page: which runs end in a notification, what it says, and the ``?trio-task=`` link.
 */

import { Notification } from '@jupyterlab/apputils';
import { Gettext, nullTranslator } from '@jupyterlab/translation';

import { TrioModel } from '../model';
import { MAX_MESSAGE, notificationType, runEnded, runEndText, startedBy } from '../runends';
import { watchRunEnds } from '../runwatch';
import { taskFromQuery, withoutTaskParam } from '../tasklink';
import { ITask } from '../wire';

const trans = nullTranslator.load('jupyter_trio');

// jest's CommonJS require (the test tsconfig types jest only, not node)
declare const require: (path: string) => any;

function task(status: ITask['status'], run = 1, extra: Partial<ITask> = {}): ITask {
  return {
    id: 'T1',
    name: 'train-1',
    kind: 'script',
    status,
    run,
    gpus: [],
    pinned: false,
    created_at: 1,
    ...extra
  };
}

describe('runEnded', () => {
  it('reports a run that goes from running or queued to an ended state', () => {
    expect(runEnded(task('running'), task('completed'))).toEqual({
      name: 'train-1',
      run: 1,
      status: 'completed',
      message: ''
    });
    expect(runEnded(task('queued', 2), task('cancelled', 2))?.status).toBe('cancelled');
    expect(runEnded(task('running'), task('failed', 1, { message: 'exit code 1' }))?.message).toBe(
      'exit code 1'
    );
    expect(runEnded(task('running'), task('pruned'))?.status).toBe('pruned');
    expect(runEnded(task('running'), task('interrupted'))?.status).toBe('interrupted');
  });

  it('reports a newer run seen only once it ended', () => {
    expect(runEnded(task('completed', 1), task('failed', 2))?.run).toBe(2);
  });

  it('ignores what is not a run ending', () => {
    expect(runEnded(undefined, task('completed'))).toBeNull(); // a task the page never knew
    expect(runEnded(task('queued'), task('running'))).toBeNull(); // started, not ended
    expect(runEnded(task('completed'), task('completed', 1, { pinned: true }))).toBeNull(); // pinned
    expect(runEnded(task('running', 2), task('completed', 1))).toBeNull(); // an older run
    expect(runEnded(task('queued', 0), task('cancelled', 0))).toBeNull(); // never ran
    expect(runEnded(task('running'), task('pending', 2))).toBeNull();
  });
});

describe('startedBy', () => {
  it('is the current user’s run when the names agree, or when there is nothing to compare', () => {
    expect(startedBy('alice', 'alice')).toBe(true);
    expect(startedBy('alice', 'guest')).toBe(false);
    expect(startedBy(null, 'guest')).toBe(true);
    expect(startedBy('alice', '')).toBe(true);
  });
});

describe('the notification', () => {
  const end = { name: 'train-1', run: 3, status: 'completed' as const, message: '' };

  it('says the task, the run and how it ended; a failure with its message, shortened', () => {
    expect(runEndText(end, trans)).toBe('train-1 run 3 completed');
    expect(runEndText({ ...end, status: 'cancelled' }, trans)).toBe('train-1 run 3 cancelled');
    expect(runEndText({ ...end, status: 'pruned' }, trans)).toBe('train-1 run 3 pruned');
    expect(runEndText({ ...end, status: 'failed' }, trans)).toBe('train-1 run 3 failed');
    expect(runEndText({ ...end, status: 'failed', message: 'exit code 2:\n  boom' }, trans)).toBe(
      'train-1 run 3 failed: exit code 2: boom'
    );
    const long = runEndText({ ...end, status: 'failed', message: 'x'.repeat(1000) }, trans);
    expect(long.endsWith('…')).toBe(true);
    expect(long.length).toBe('train-1 run 3 failed: '.length + MAX_MESSAGE);
  });

  it('speaks Chinese with the shipped catalog', () => {
    const {
      '': meta,
      ...messages
    } = require('../../../jupyter_trio/locale/zh_CN/LC_MESSAGES/jupyter_trio.json');
    const zh = new Gettext({ domain: 'jupyter_trio', locale: 'zh-CN' });
    zh.loadJSON({ '': { language: 'zh-CN', pluralForms: meta.plural_forms }, ...messages }, 'jupyter_trio');
    expect(runEndText(end, zh)).toBe('train-1 第 3 次运行已完成');
    expect(runEndText({ ...end, status: 'failed', message: 'exit code 2' }, zh)).toBe(
      'train-1 第 3 次运行失败：exit code 2'
    );
    expect(zh.__('Show task')).toBe('查看任务');
  });

  it('is an error for a failure, a success for a completed run', () => {
    expect(notificationType('failed')).toBe('error');
    expect(notificationType('interrupted')).toBe('error');
    expect(notificationType('completed')).toBe('success');
    expect(notificationType('cancelled')).toBe('warning');
    expect(notificationType('pruned')).toBe('info');
  });
});

describe('watchRunEnds', () => {
  function setup(createdBy: string, enabled = true) {
    const model = new TrioModel();
    model.load([task('running')], [], 10);
    const calls: string[] = [];
    const api = {
      request: async (_method: string, path: string[]) => {
        calls.push(path.join('/'));
        return { name: 'alice' };
      },
      task: async (name: string) => {
        calls.push(`tasks/${name}`);
        return {
          name,
          owner: 'alice',
          runs: [{ run_index: 1, created_by: createdBy, message: 'exit code 3' }]
        };
      }
    };
    const opened: string[] = [];
    const stop = watchRunEnds({
      model,
      api: api as any,
      trans,
      enabled: () => enabled,
      open: name => opened.push(name)
    });
    return { model, calls, opened, stop };
  }
  const flush = () => new Promise(resolve => setTimeout(resolve, 0));
  const shown = () => Notification.manager.notifications.filter(n => n.message.startsWith('train-1 run 1'));

  beforeEach(() => Notification.dismiss());

  it('notifies about a run the current user started, with the run’s message and a Show action', async () => {
    const { model, opened } = setup('alice');
    model.apply({ id: 11, type: 'task', task: { id: 'T1', status: 'failed', message: 'failed' } });
    await flush();
    const [note] = shown();
    expect(note.message).toBe('train-1 run 1 failed: exit code 3');
    expect(note.type).toBe('error');
    note.options.actions![0].callback(new MouseEvent('click'));
    expect(opened).toEqual(['train-1']);
  });

  it('stays quiet about another user’s run, with the setting off, and once stopped', async () => {
    const guest = setup('guest');
    guest.model.apply({ id: 11, type: 'task', task: { id: 'T1', status: 'completed' } });
    await flush();
    expect(guest.calls).toEqual(['v1/user', 'tasks/train-1']);
    const off = setup('alice', false);
    off.model.apply({ id: 11, type: 'task', task: { id: 'T1', status: 'completed' } });
    const stopped = setup('alice');
    stopped.stop();
    stopped.model.apply({ id: 11, type: 'task', task: { id: 'T1', status: 'completed' } });
    await flush();
    expect(off.calls).toEqual([]);
    expect(stopped.calls).toEqual([]);
    expect(shown()).toEqual([]);
  });
});

describe('the ?trio-task= link', () => {
  it('reads the task name from the query', () => {
    expect(taskFromQuery('?trio-task=train-1')).toBe('train-1');
    expect(taskFromQuery('?token=abc&trio-task=a%20b%2Fc')).toBe('a b/c');
    expect(taskFromQuery('?trio-task=')).toBeNull();
    expect(taskFromQuery('?other=1')).toBeNull();
    expect(taskFromQuery('')).toBeNull();
    expect(taskFromQuery(`?trio-task=${'x'.repeat(500)}`)).toBeNull();
  });

  it('is taken out of the address once used, the rest kept', () => {
    expect(withoutTaskParam('http://h/user/a/lab?trio-task=t1&reset#x')).toBe('http://h/user/a/lab?reset#x');
    expect(withoutTaskParam('http://h/lab?trio-task=t1')).toBe('http://h/lab');
    expect(withoutTaskParam('http://h/lab?a=1')).toBe('http://h/lab?a=1');
  });
});

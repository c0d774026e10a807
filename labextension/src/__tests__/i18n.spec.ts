/**
 * The sidebar in the user's language: every string goes through the bundle JupyterLab's translator
 * loads for the ``jupyter_trio`` domain, and the shipped zh_CN catalog has the shape JupyterLab reads.
 */

import { Gettext, TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatEta } from '../format';
import { datasetStatusLabel, refusalLabel, statusLabel, unleasedNote } from '../labels';
import { TrioModel } from '../model';
import { ITask } from '../wire';
import { SidebarView } from '../sidebar';

// jest's CommonJS require (the test tsconfig types jest only, not node; react-dom comes untyped)
declare const require: (path: string) => any;
const { renderToStaticMarkup } = require('react-dom/server');

/** A Gettext bundle of the ``jupyter_trio`` domain loaded with ``data``, as TranslationManager.load does. */
function bundle(data: Record<string, string[]>, pluralForms = 'nplurals=1; plural=0;'): TranslationBundle {
  const gettext = new Gettext({ domain: 'jupyter_trio', locale: 'zh-CN' });
  gettext.loadJSON({ '': { language: 'zh-CN', pluralForms }, ...data } as any, 'jupyter_trio');
  return gettext;
}

function task(id: string, status: ITask['status']): ITask {
  return { id, name: `t-${id}`, kind: 'train', status, run: 1, gpus: [0], pinned: false, created_at: 1 };
}

describe('the sidebar in Chinese', () => {
  it('renders its headings, buttons and state chips from the bundle', () => {
    const trans = bundle({
      Running: ['运行中（组）'],
      Datasets: ['数据集'],
      GPUs: ['显卡'],
      Log: ['日志'],
      'task state\u0004running': ['运行中'],
      'task kind\u0004train': ['训练'],
      'none imported': ['尚未导入']
    });
    const model = new TrioModel();
    model.load([task('T1', 'running')], [], 1);
    const html = renderToStaticMarkup(
      React.createElement(SidebarView, {
        opts: { model, api: {} as any, commands: {} as any, confirmDelete: () => true, trans }
      })
    );
    for (const text of ['运行中（组）', '数据集', '显卡', '日志', '>运行中<', '>训练<', '尚未导入']) {
      expect(html).toContain(text);
    }
    // what tests and styles select on stays the server's English
    expect(html).toContain('data-status="running"');
    // a string the bundle does not know shows in English
    expect(html).toContain('Metrics');
  });
});

describe('the shipped zh_CN catalog', () => {
  const catalog = require('../../../jupyter_trio/locale/zh_CN/LC_MESSAGES/jupyter_trio.json');
  const { '': meta, ...messages } = catalog;
  const trans = bundle(messages, meta.plural_forms);

  it('has the header JupyterLab needs', () => {
    expect(meta).toMatchObject({
      domain: 'jupyter_trio',
      language: 'zh-CN',
      plural_forms: 'nplurals=1; plural=0;'
    });
  });

  it('translates plain strings, contexts, arguments and plurals', () => {
    expect(trans.__('Datasets')).toBe('数据集');
    expect(statusLabel('cancelled', trans)).toBe('已取消');
    expect(datasetStatusLabel('split', trans)).toBe('已切分');
    expect(formatEta(185, trans)).toBe('3 分 05 秒');
    expect(trans._n('%1 image', '%1 images', 3)).toBe('3 张图片');
    expect(trans._n('%1 image', '%1 images', 1)).toBe('1 张图片');
    expect(
      unleasedNote(
        [
          { pid: 7, user: 'bob', memory_used: null },
          { pid: 8, user: '', memory_used: null }
        ],
        trans
      )
    ).toBe('未持有租约即在使用：进程 7（bob）、进程 8');
  });

  it('says why the server refused, by status, in Chinese', () => {
    expect(refusalLabel(404, trans)).toBe('未找到');
    expect(refusalLabel(422, trans)).toBe('请求无效');
    expect(refusalLabel(409, trans)).toBe('当前状态下无法执行');
    expect(refusalLabel(500, trans)).toBe('服务器出错');
    expect(refusalLabel(undefined, trans)).toBe('请求失败');
    expect(
      trans.__('%1: %2 (%3)', '取消 job_001', refusalLabel(409, trans), 'run job_001/1 is completed')
    ).toBe('取消 job_001：当前状态下无法执行（run job_001/1 is completed）');
  });
});

/**
 * The left sidebar panel (``#trio-sidebar``): a header with the active count, the filter, then its
 * sections (tasks by state, sweeps, GPU cards, datasets) — all live.
 */

import { ReactWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import type { TrioAPI } from './api';
import { DatasetSection } from './datasetsection';
import { GpuSection } from './gpusection';
import { trioIcon } from './icon';
import type { TrioModel } from './model';
import { SweepSection } from './sweepsection';
import { TaskSection } from './tasksection';
import { useModel } from './usemodel';

export interface ISidebarOptions {
  model: TrioModel;
  api: TrioAPI;
  commands: CommandRegistry;
  confirmDelete: () => boolean;
  /** The ``jupyter_trio`` domain of the user's language. */
  trans: TranslationBundle;
}

/** The logo, the name and the number of tasks running or queued. */
function Header(props: { activeCount: number; trans: TranslationBundle }): JSX.Element {
  const { activeCount, trans } = props;
  return (
    <header className="jp-trio-header">
      <trioIcon.react tag="span" className="jp-trio-logo" />
      <span className="jp-trio-title">jupyter-trio</span>
      <span className="jp-trio-badge" title={trans.__('tasks running or queued')} data-count={activeCount}>
        {activeCount}
      </span>
    </header>
  );
}

/** The search box: the model's filter. */
function Filter(props: { model: TrioModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  return (
    <input
      className="jp-trio-filter jp-mod-styled"
      placeholder={trans.__('Filter tasks by name, kind or state')}
      value={model.filter}
      onChange={e => (model.filter = e.target.value)}
    />
  );
}

export function SidebarView(props: { opts: ISidebarOptions }): JSX.Element {
  const { model, trans } = props.opts;
  useModel(model);
  const groups = model.groups();
  return (
    <div className="jp-trio-sidebar-body">
      <Header activeCount={model.activeCount} trans={trans} />
      <Filter model={model} trans={trans} />
      <TaskSection id="running" title={trans.__('Running')} tasks={groups.running} opts={props.opts} />
      <TaskSection id="queued" title={trans.__('Queued')} tasks={groups.queued} opts={props.opts} />
      {groups.pending.length ? (
        <TaskSection id="pending" title={trans.__('Not started')} tasks={groups.pending} opts={props.opts} />
      ) : null}
      <TaskSection id="finished" title={trans.__('Recent')} tasks={groups.finished} opts={props.opts} />
      <SweepSection sweeps={model.sweepList()} opts={props.opts} />
      <GpuSection gpus={model.gpus} trans={trans} />
      <DatasetSection datasets={[...model.datasets.values()]} trans={trans} />
    </div>
  );
}

export class TrioSidebar extends ReactWidget {
  constructor(private readonly opts: ISidebarOptions) {
    super();
    this.id = 'trio-sidebar';
    this.addClass('jp-trio-sidebar');
    this.title.icon = trioIcon;
    this.title.caption = opts.trans.__('jupyter-trio: tasks, GPUs and datasets');
  }

  render(): JSX.Element {
    return <SidebarView opts={this.opts} />;
  }
}

/**
 * The left sidebar panel (``#trio-sidebar``): a header with the active count, the filter, the selection's
 * "Compare (n)", then its sections (tasks by state, sweeps, schedules, GPU cards, datasets) — all live.
 */

import { ReactWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { compareIcon } from './actionicons';
import type { TrioAPI } from './api';
import { DatasetSection } from './datasetsection';
import { GpuSection } from './gpusection';
import { trioIcon } from './icon';
import type { IGroups, TrioModel } from './model';
import { TaskSelection } from './selection';
import { ScheduleSection } from './schedulesection';
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
  /** The tasks selected to compare; without it, rows have no checkbox. */
  selection?: TaskSelection;
}

/** The command that opens the compare view (commands.ts). */
const COMPARE = 'trio:compare-runs';

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

/** The rows as shown, top to bottom (each top-level task, then its child jobs): a shift-click's range. */
function rowOrder(model: TrioModel, groups: IGroups): string[] {
  const order: string[] = [];
  for (const tasks of [groups.running, groups.queued, groups.pending, groups.finished]) {
    for (const t of tasks) {
      if (t.parent_id && model.tasks.has(t.parent_id)) {
        continue;
      }
      order.push(t.name, ...model.childrenOf(t.id).map(c => c.name));
    }
  }
  return order;
}

/** Re-render on each change of the selection. */
function useSelection(selection: TaskSelection | undefined): void {
  const [, setVersion] = React.useState(0);
  React.useEffect(() => selection?.subscribe(() => setVersion(v => v + 1)), [selection]);
}

/** How many tasks are selected, "Compare (n)" (two or more) and "Clear". */
function SelectionBar(props: { selection: TaskSelection; opts: ISidebarOptions }): JSX.Element | null {
  const { selection, opts } = props;
  const { trans, commands } = opts;
  const n = selection.size;
  if (!n) {
    return null;
  }
  return (
    <div className="jp-trio-selection" role="toolbar" aria-label={trans.__('Selected tasks')} data-count={n}>
      <span className="jp-trio-selection-count">{trans._n('%1 selected', '%1 selected', n)}</span>
      <button
        type="button"
        className="jp-mod-styled jp-mod-accept jp-trio-compare-selected"
        disabled={n < 2}
        title={
          n < 2 ? trans.__('Select two tasks or more to compare their runs') : trans.__('Compare their runs')
        }
        onClick={() => void commands.execute(COMPARE, { tasks: selection.names })}
      >
        <compareIcon.react tag="span" className="jp-trio-action-icon" />
        {trans.__('Compare (%1)', n)}
      </button>
      <button
        type="button"
        className="jp-mod-styled jp-trio-clear-selection"
        onClick={() => selection.clear()}
      >
        {trans.__('Clear')}
      </button>
    </div>
  );
}

export function SidebarView(props: { opts: ISidebarOptions }): JSX.Element {
  const { model, trans, selection } = props.opts;
  useModel(model);
  useSelection(selection);
  const groups = model.groups();
  if (selection) {
    selection.order = rowOrder(model, groups);
  }
  React.useEffect(() => {
    // a deleted task leaves the selection
    selection?.retain(new Set([...model.tasks.values()].map(t => t.name)));
  });
  return (
    <div
      className="jp-trio-sidebar-body"
      onKeyDown={e => {
        if (e.key === 'Escape' && selection?.size) {
          selection.clear();
        }
      }}
    >
      <Header activeCount={model.activeCount} trans={trans} />
      <Filter model={model} trans={trans} />
      {selection ? <SelectionBar selection={selection} opts={props.opts} /> : null}
      <TaskSection id="running" title={trans.__('Running')} tasks={groups.running} opts={props.opts} />
      <TaskSection id="queued" title={trans.__('Queued')} tasks={groups.queued} opts={props.opts} />
      {groups.pending.length ? (
        <TaskSection id="pending" title={trans.__('Not started')} tasks={groups.pending} opts={props.opts} />
      ) : null}
      <TaskSection id="finished" title={trans.__('Recent')} tasks={groups.finished} opts={props.opts} />
      <SweepSection sweeps={model.sweepList()} opts={props.opts} />
      <ScheduleSection schedules={model.scheduleList()} opts={props.opts} />
      <GpuSection gpus={model.gpus} trans={trans} />
      <DatasetSection datasets={[...model.datasets.values()]} trans={trans} />
    </div>
  );
}

export class TrioSidebar extends ReactWidget {
  constructor(private readonly opts: ISidebarOptions) {
    super();
    this.opts = { ...opts, selection: opts.selection ?? new TaskSelection() };
    this.id = 'trio-sidebar';
    this.addClass('jp-trio-sidebar');
    this.title.icon = trioIcon;
    this.title.caption = opts.trans.__('jupyter-trio: tasks, GPUs and datasets');
  }

  render(): JSX.Element {
    return <SidebarView opts={this.opts} />;
  }
}

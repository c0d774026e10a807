/** The left sidebar panel (``#trio-sidebar``): tasks by state, GPU cards, datasets — all live. */

import { Dialog, Notification, ReactWidget, showDialog, InputDialog } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { TrioAPI } from './api';
import { formatBytes, formatEta, IDataset, IGpu, ITask, TrioModel } from './model';
import { trioIcon } from './icon';

export const RUN_KINDS = ['train', 'prune'];
export const CHILD_KINDS = ['analysis', 'evaluate', 'predict', 'export'];

export interface ISidebarOptions {
  model: TrioModel;
  api: TrioAPI;
  commands: CommandRegistry;
  confirmDelete: () => boolean;
}

/** Run ``action``; a server refusal becomes a JupyterLab notification (never an alert). */
export async function attempt(what: string, action: () => Promise<unknown>): Promise<boolean> {
  try {
    await action();
    return true;
  } catch (err: any) {
    Notification.error(`${what}: ${err?.message ?? err}`, { autoClose: 8000 });
    return false;
  }
}

function useModel(model: TrioModel): number {
  const [version, setVersion] = React.useState(model.version);
  React.useEffect(() => {
    let frame = 0;
    const unsubscribe = model.subscribe(() => {
      // a burst of events renders once per frame
      if (!frame) {
        frame = requestAnimationFrame(() => {
          frame = 0;
          setVersion(model.version);
        });
      }
    });
    return () => {
      unsubscribe();
      if (frame) {
        cancelAnimationFrame(frame);
      }
    };
  }, [model]);
  return version;
}

function ProgressBar(props: { task: ITask }): JSX.Element | null {
  const t = props.task;
  if (t.status !== 'running' || t.progress === undefined) {
    return null;
  }
  const pct = Math.round(t.progress * 1000) / 10;
  return (
    <div className="jp-trio-progress" title={t.stage ?? ''}>
      <div className="jp-trio-progress-bar">
        <div className="jp-trio-progress-fill" style={{ width: `${pct}%` }} data-progress={t.progress} />
      </div>
      <span className="jp-trio-progress-text">
        {pct}%{t.epoch !== undefined && t.num_epochs ? ` · epoch ${t.epoch}/${t.num_epochs}` : ''}
        {t.eta_s !== undefined ? ` · ETA ${formatEta(t.eta_s)}` : ''}
      </span>
    </div>
  );
}

function TaskRow(props: { task: ITask; opts: ISidebarOptions; child?: boolean }): JSX.Element {
  const { task: t, opts } = props;
  const { api, commands } = opts;
  const active = t.status === 'running' || t.status === 'queued';
  const training = RUN_KINDS.includes(t.kind);
  const stop = async () => {
    const result = await showDialog({
      title: 'Stop task',
      body: `Stop ${t.name}? A running job gets SIGTERM, then SIGKILL after the grace period.`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Stop' })]
    });
    if (result.button.accept) {
      await attempt(`Stopping ${t.name}`, () => api.cancel(t.name));
    }
  };
  const remove = async () => {
    if (opts.confirmDelete()) {
      const result = await showDialog({
        title: 'Delete task',
        body: `Delete ${t.name} with its runs, logs and metrics? This cannot be undone.`,
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
      });
      if (!result.button.accept) {
        return;
      }
    }
    await attempt(`Deleting ${t.name}`, () => api.remove(t.name));
  };
  const resume = async () => {
    const answer = await InputDialog.getText({
      title: `Resume ${t.name} from epoch`,
      placeholder: 'empty: the last saved epoch'
    });
    if (!answer.button.accept) {
      return;
    }
    const text = (answer.value ?? '').trim();
    const epoch = text ? Number(text) : null;
    if (epoch !== null && !Number.isInteger(epoch)) {
      Notification.error(`"${text}" is not an epoch number`);
      return;
    }
    await attempt(`Resuming ${t.name}`, () => api.resume(t.name, epoch));
  };
  const children = props.child ? [] : opts.model.childrenOf(t.id);
  return (
    <li className={`jp-trio-task jp-trio-status-${t.status}`} data-task={t.name} data-status={t.status}>
      <div className="jp-trio-task-head">
        <span className="jp-trio-task-name" title={t.message || t.name}>
          {t.pinned ? '📌 ' : ''}
          {t.name}
        </span>
        <span className="jp-trio-chip">{t.kind}</span>
        <span className={`jp-trio-chip jp-trio-state`}>{t.status}</span>
        {t.run ? <span className="jp-trio-run">#{t.run}</span> : null}
        {t.gpus && t.gpus.length ? <span className="jp-trio-gpus">GPU {t.gpus.join(',')}</span> : null}
      </div>
      <ProgressBar task={t} />
      {t.message && !active && t.status !== 'completed' ? (
        <div className="jp-trio-task-message">{t.message}</div>
      ) : null}
      <div className="jp-trio-actions">
        <Button minimal small onClick={() => commands.execute('trio:open-log', { name: t.name })}>
          Log
        </Button>
        <Button minimal small onClick={() => commands.execute('trio:open-metrics', { name: t.name })}>
          Metrics
        </Button>
        <Button minimal small onClick={() => commands.execute('trio:open-details', { name: t.name })}>
          Details
        </Button>
        {active ? (
          <Button minimal small className="jp-trio-stop" onClick={stop}>
            Stop
          </Button>
        ) : (
          <Button
            minimal
            small
            className="jp-trio-run-button"
            onClick={() => attempt(`Running ${t.name}`, () => api.run(t.name))}
          >
            {t.run ? 'Rerun' : 'Run'}
          </Button>
        )}
        {training && !active && t.run ? (
          <Button minimal small onClick={resume}>
            Resume
          </Button>
        ) : null}
        <Button minimal small onClick={() => attempt(`Pinning ${t.name}`, () => api.pin(t.name, !t.pinned))}>
          {t.pinned ? 'Unpin' : 'Pin'}
        </Button>
        {!active ? (
          <Button minimal small className="jp-trio-delete" onClick={remove}>
            Delete
          </Button>
        ) : null}
      </div>
      {children.length ? (
        <ul className="jp-trio-children">
          {children.map(c => (
            <TaskRow key={c.id} task={c} opts={opts} child />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

const SHOWN = 200; // rows per group before "show more" (the whole list stays in the model)

function Group(props: { title: string; tasks: ITask[]; opts: ISidebarOptions; id: string }): JSX.Element {
  const [limit, setLimit] = React.useState(SHOWN);
  const top = props.tasks.filter(t => !(t.parent_id && props.opts.model.tasks.has(t.parent_id)));
  return (
    <section className="jp-trio-group" data-group={props.id}>
      <h3>
        {props.title} <span className="jp-trio-count">{top.length}</span>
      </h3>
      {top.length ? (
        <ul>
          {top.slice(0, limit).map(t => (
            <TaskRow key={t.id} task={t} opts={props.opts} />
          ))}
        </ul>
      ) : (
        <div className="jp-trio-empty">none</div>
      )}
      {top.length > limit ? (
        <Button minimal small onClick={() => setLimit(limit + SHOWN)}>
          Show {Math.min(SHOWN, top.length - limit)} more
        </Button>
      ) : null}
    </section>
  );
}

function GpuCard(props: { gpu: IGpu }): JSX.Element {
  const g = props.gpu;
  const mem = g.memory_total ? (100 * (g.memory_used ?? 0)) / g.memory_total : 0;
  return (
    <div className="jp-trio-gpu" data-gpu={g.index}>
      <div className="jp-trio-gpu-head">
        GPU {g.index} {g.name ? <span className="jp-trio-gpu-name">{g.name}</span> : null}
        {g.temperature !== null && g.temperature !== undefined ? <span> · {g.temperature}°C</span> : null}
      </div>
      <div className="jp-trio-meter" title="utilisation">
        <div className="jp-trio-meter-fill" style={{ width: `${g.utilization ?? 0}%` }} />
        <span>util {g.utilization ?? '?'}%</span>
      </div>
      <div className="jp-trio-meter" title="memory">
        <div className="jp-trio-meter-fill" style={{ width: `${mem}%` }} />
        <span>
          mem {formatBytes(g.memory_used)} / {formatBytes(g.memory_total)}
        </span>
      </div>
      <div className="jp-trio-gpu-task" data-state={g.state ?? 'free'}>
        {g.task
          ? `${g.task.name} #${g.task.run}`
          : g.state === 'other'
            ? `held by ${g.user ?? 'another user'}`
            : 'none'}
      </div>
    </div>
  );
}

function DatasetRow(props: { dataset: IDataset }): JSX.Element {
  const d = props.dataset;
  return (
    <li className="jp-trio-dataset" data-dataset={d.id} data-status={d.status}>
      <span className="jp-trio-task-name">{d.name}</span>
      <span className="jp-trio-chip">{d.dataset_type}</span>
      <span className="jp-trio-chip jp-trio-state">{d.status}</span>
      {d.num_images ? <span className="jp-trio-run">{d.num_images} images</span> : null}
      {d.progress !== undefined ? (
        <div className="jp-trio-progress-bar">
          <div className="jp-trio-progress-fill" style={{ width: `${d.progress * 100}%` }} />
        </div>
      ) : null}
    </li>
  );
}

export function SidebarView(props: { opts: ISidebarOptions }): JSX.Element {
  const { model } = props.opts;
  useModel(model);
  const groups = model.groups();
  return (
    <div className="jp-trio-sidebar-body">
      <header className="jp-trio-header">
        <trioIcon.react tag="span" className="jp-trio-logo" />
        <span className="jp-trio-title">jupyter-trio</span>
        <span className="jp-trio-badge" title="tasks running or queued" data-count={model.activeCount}>
          {model.activeCount}
        </span>
      </header>
      <input
        className="jp-trio-filter jp-mod-styled"
        placeholder="Filter tasks by name, kind or state"
        value={model.filter}
        onChange={e => (model.filter = e.target.value)}
      />
      <Group id="running" title="Running" tasks={groups.running} opts={props.opts} />
      <Group id="queued" title="Queued" tasks={groups.queued} opts={props.opts} />
      {groups.pending.length ? (
        <Group id="pending" title="Not started" tasks={groups.pending} opts={props.opts} />
      ) : null}
      <Group id="finished" title="Recent" tasks={groups.finished} opts={props.opts} />
      <section className="jp-trio-group" data-group="gpus">
        <h3>GPUs</h3>
        {model.gpus.length ? (
          model.gpus.map(g => <GpuCard key={g.index} gpu={g} />)
        ) : (
          <div className="jp-trio-empty">none (CPU only)</div>
        )}
      </section>
      <section className="jp-trio-group" data-group="datasets">
        <h3>Datasets</h3>
        {model.datasets.size ? (
          <ul>
            {[...model.datasets.values()].map(d => (
              <DatasetRow key={d.id} dataset={d} />
            ))}
          </ul>
        ) : (
          <div className="jp-trio-empty">none imported</div>
        )}
      </section>
    </div>
  );
}

export class TrioSidebar extends ReactWidget {
  constructor(private readonly opts: ISidebarOptions) {
    super();
    this.id = 'trio-sidebar';
    this.addClass('jp-trio-sidebar');
    this.title.icon = trioIcon;
    this.title.caption = 'jupyter-trio: tasks, GPUs and datasets';
  }

  render(): JSX.Element {
    return <SidebarView opts={this.opts} />;
  }
}

/** The left sidebar panel (``#trio-sidebar``): tasks by state, GPU cards, datasets — all live. */

import { Dialog, Notification, ReactWidget, showDialog, InputDialog } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { TrioAPI } from './api';
import {
  datasetStatusLabel,
  datasetTypeLabel,
  formatBytes,
  formatEta,
  IDataset,
  IGpu,
  ITask,
  kindLabel,
  refusalLabel,
  statusLabel,
  TrioModel,
  unleasedNote
} from './model';
import { trioIcon } from './icon';

export const RUN_KINDS = ['train', 'prune'];
export const CHILD_KINDS = ['analysis', 'evaluate', 'predict', 'export'];

export interface ISidebarOptions {
  model: TrioModel;
  api: TrioAPI;
  commands: CommandRegistry;
  confirmDelete: () => boolean;
  /** The ``jupyter_trio`` domain of the user's language. */
  trans: TranslationBundle;
}

/**
 * Run ``action``; a server refusal becomes a JupyterLab notification (never an alert). ``what`` is
 * already translated; the server's reason stays as the server said it (English: it is API).
 */
export async function attempt(
  trans: TranslationBundle,
  what: string,
  action: () => Promise<unknown>
): Promise<boolean> {
  try {
    await action();
    return true;
  } catch (err: any) {
    // why, in the user's language (from the status), then the server's own words (English: the API's)
    const why = refusalLabel(err?.status, trans);
    Notification.error(trans.__('%1: %2 (%3)', what, why, err?.message ?? String(err)), { autoClose: 8000 });
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

function ProgressBar(props: { task: ITask; trans: TranslationBundle }): JSX.Element | null {
  const { task: t, trans } = props;
  if (t.status !== 'running' || t.progress === undefined) {
    return null;
  }
  const pct = Math.round(t.progress * 1000) / 10;
  const parts = [`${pct}%`];
  if (t.epoch !== undefined && t.num_epochs) {
    parts.push(trans.__('epoch %1/%2', t.epoch, t.num_epochs));
  }
  if (t.eta_s !== undefined) {
    parts.push(trans.__('ETA %1', formatEta(t.eta_s, trans)));
  }
  return (
    <div className="jp-trio-progress" title={t.stage ?? ''}>
      <div className="jp-trio-progress-bar">
        <div className="jp-trio-progress-fill" style={{ width: `${pct}%` }} data-progress={t.progress} />
      </div>
      <span className="jp-trio-progress-text">{parts.join(' · ')}</span>
    </div>
  );
}

function TaskRow(props: { task: ITask; opts: ISidebarOptions; child?: boolean }): JSX.Element {
  const { task: t, opts } = props;
  const { api, commands, trans } = opts;
  const active = t.status === 'running' || t.status === 'queued';
  const training = RUN_KINDS.includes(t.kind);
  const stop = async () => {
    const result = await showDialog({
      title: trans.__('Stop task'),
      body: trans.__('Stop %1? A running job gets SIGTERM, then SIGKILL after the grace period.', t.name),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: trans.__('Stop') })]
    });
    if (result.button.accept) {
      await attempt(trans, trans.__('Stopping %1', t.name), () => api.cancel(t.name));
    }
  };
  const remove = async () => {
    if (opts.confirmDelete()) {
      const result = await showDialog({
        title: trans.__('Delete task'),
        body: trans.__('Delete %1 with its runs, logs and metrics? This cannot be undone.', t.name),
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: trans.__('Delete') })]
      });
      if (!result.button.accept) {
        return;
      }
    }
    await attempt(trans, trans.__('Deleting %1', t.name), () => api.remove(t.name));
  };
  const resume = async () => {
    const answer = await InputDialog.getText({
      title: trans.__('Resume %1 from epoch', t.name),
      placeholder: trans.__('empty: the last saved epoch')
    });
    if (!answer.button.accept) {
      return;
    }
    const text = (answer.value ?? '').trim();
    const epoch = text ? Number(text) : null;
    if (epoch !== null && !Number.isInteger(epoch)) {
      Notification.error(trans.__('"%1" is not an epoch number', text));
      return;
    }
    await attempt(trans, trans.__('Resuming %1', t.name), () => api.resume(t.name, epoch));
  };
  const children = props.child ? [] : opts.model.childrenOf(t.id);
  return (
    <li className={`jp-trio-task jp-trio-status-${t.status}`} data-task={t.name} data-status={t.status}>
      <div className="jp-trio-task-head">
        <span className="jp-trio-task-name" title={t.message || t.name}>
          {t.pinned ? '📌 ' : ''}
          {t.name}
        </span>
        <span className="jp-trio-chip">{kindLabel(t.kind, trans)}</span>
        <span className={`jp-trio-chip jp-trio-state`}>{statusLabel(t.status, trans)}</span>
        {t.run ? <span className="jp-trio-run">#{t.run}</span> : null}
        {t.gpus && t.gpus.length ? (
          <span className="jp-trio-gpus">{trans.__('GPU %1', t.gpus.join(','))}</span>
        ) : null}
      </div>
      <ProgressBar task={t} trans={trans} />
      {t.message && !active && t.status !== 'completed' ? (
        <div className="jp-trio-task-message">{t.message}</div>
      ) : null}
      <div className="jp-trio-actions">
        <Button minimal small onClick={() => commands.execute('trio:open-log', { name: t.name })}>
          {trans.__('Log')}
        </Button>
        <Button minimal small onClick={() => commands.execute('trio:open-metrics', { name: t.name })}>
          {trans.__('Metrics')}
        </Button>
        <Button minimal small onClick={() => commands.execute('trio:open-details', { name: t.name })}>
          {trans.__('Details')}
        </Button>
        {active ? (
          <Button minimal small className="jp-trio-stop" onClick={stop}>
            {trans.__('Stop')}
          </Button>
        ) : (
          <Button
            minimal
            small
            className="jp-trio-run-button"
            onClick={() => attempt(trans, trans.__('Running %1', t.name), () => api.run(t.name))}
          >
            {t.run ? trans.__('Rerun') : trans.__('Run')}
          </Button>
        )}
        {training && !active && t.run ? (
          <Button minimal small onClick={resume}>
            {trans.__('Resume')}
          </Button>
        ) : null}
        <Button
          minimal
          small
          onClick={() =>
            attempt(trans, t.pinned ? trans.__('Unpinning %1', t.name) : trans.__('Pinning %1', t.name), () =>
              api.pin(t.name, !t.pinned)
            )
          }
        >
          {t.pinned ? trans.__('Unpin') : trans.__('Pin')}
        </Button>
        {!active ? (
          <Button minimal small className="jp-trio-delete" onClick={remove}>
            {trans.__('Delete')}
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
  const { trans } = props.opts;
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
        <div className="jp-trio-empty">{trans.__('none')}</div>
      )}
      {top.length > limit ? (
        <Button minimal small onClick={() => setLimit(limit + SHOWN)}>
          {trans._n('Show %1 more', 'Show %1 more', Math.min(SHOWN, top.length - limit))}
        </Button>
      ) : null}
    </section>
  );
}

function GpuCard(props: { gpu: IGpu; trans: TranslationBundle }): JSX.Element {
  const { gpu: g, trans } = props;
  const note = unleasedNote(g.unleased, trans);
  const mem = g.memory_total ? (100 * (g.memory_used ?? 0)) / g.memory_total : 0;
  return (
    <div className="jp-trio-gpu" data-gpu={g.index}>
      <div className="jp-trio-gpu-head">
        {trans.__('GPU %1', g.index)} {g.name ? <span className="jp-trio-gpu-name">{g.name}</span> : null}
        {g.temperature !== null && g.temperature !== undefined ? <span> · {g.temperature}°C</span> : null}
      </div>
      <div className="jp-trio-meter" title={trans.__('utilisation')}>
        <div className="jp-trio-meter-fill" style={{ width: `${g.utilization ?? 0}%` }} />
        <span>{trans.__('util %1%', g.utilization ?? '?')}</span>
      </div>
      <div className="jp-trio-meter" title={trans.__('memory')}>
        <div className="jp-trio-meter-fill" style={{ width: `${mem}%` }} />
        <span>{trans.__('mem %1 / %2', formatBytes(g.memory_used), formatBytes(g.memory_total))}</span>
      </div>
      <div className="jp-trio-gpu-task" data-state={g.state ?? 'free'}>
        {g.task
          ? `${g.task.name} #${g.task.run}`
          : g.state === 'other'
            ? g.user
              ? trans.__('held by %1', g.user)
              : trans.__('held by another user')
            : trans.__('none')}
      </div>
      {note ? (
        <div className="jp-trio-gpu-unleased" style={{ color: 'var(--jp-warn-color1)' }}>
          ⚠ {note}
        </div>
      ) : null}
    </div>
  );
}

function DatasetRow(props: { dataset: IDataset; trans: TranslationBundle }): JSX.Element {
  const { dataset: d, trans } = props;
  return (
    <li className="jp-trio-dataset" data-dataset={d.id} data-status={d.status}>
      <span className="jp-trio-task-name">{d.name}</span>
      <span className="jp-trio-chip">{datasetTypeLabel(d.dataset_type, trans)}</span>
      <span className="jp-trio-chip jp-trio-state">{datasetStatusLabel(d.status, trans)}</span>
      {d.num_images ? (
        <span className="jp-trio-run">{trans._n('%1 image', '%1 images', d.num_images)}</span>
      ) : null}
      {d.progress !== undefined ? (
        <div className="jp-trio-progress-bar">
          <div className="jp-trio-progress-fill" style={{ width: `${d.progress * 100}%` }} />
        </div>
      ) : null}
    </li>
  );
}

export function SidebarView(props: { opts: ISidebarOptions }): JSX.Element {
  const { model, trans } = props.opts;
  useModel(model);
  const groups = model.groups();
  return (
    <div className="jp-trio-sidebar-body">
      <header className="jp-trio-header">
        <trioIcon.react tag="span" className="jp-trio-logo" />
        <span className="jp-trio-title">jupyter-trio</span>
        <span className="jp-trio-badge" title={trans.__('tasks running or queued')} data-count={model.activeCount}>
          {model.activeCount}
        </span>
      </header>
      <input
        className="jp-trio-filter jp-mod-styled"
        placeholder={trans.__('Filter tasks by name, kind or state')}
        value={model.filter}
        onChange={e => (model.filter = e.target.value)}
      />
      <Group id="running" title={trans.__('Running')} tasks={groups.running} opts={props.opts} />
      <Group id="queued" title={trans.__('Queued')} tasks={groups.queued} opts={props.opts} />
      {groups.pending.length ? (
        <Group id="pending" title={trans.__('Not started')} tasks={groups.pending} opts={props.opts} />
      ) : null}
      <Group id="finished" title={trans.__('Recent')} tasks={groups.finished} opts={props.opts} />
      <section className="jp-trio-group" data-group="gpus">
        <h3>{trans.__('GPUs')}</h3>
        {model.gpus.length ? (
          model.gpus.map(g => <GpuCard key={g.index} gpu={g} trans={trans} />)
        ) : (
          <div className="jp-trio-empty">{trans.__('none (CPU only)')}</div>
        )}
      </section>
      <section className="jp-trio-group" data-group="datasets">
        <h3>{trans.__('Datasets')}</h3>
        {model.datasets.size ? (
          <ul>
            {[...model.datasets.values()].map(d => (
              <DatasetRow key={d.id} dataset={d} trans={trans} />
            ))}
          </ul>
        ) : (
          <div className="jp-trio-empty">{trans.__('none imported')}</div>
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
    this.title.caption = opts.trans.__('jupyter-trio: tasks, GPUs and datasets');
  }

  render(): JSX.Element {
    return <SidebarView opts={this.opts} />;
  }
}

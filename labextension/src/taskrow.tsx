/** A task's row in the sidebar: its name, kind, state, progress and actions, with its child jobs under it. */

import { Dialog, InputDialog, Notification, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { formatEta } from './format';
import { kindLabel, statusLabel } from './labels';
import { attempt } from './notify';
import type { ISidebarOptions } from './sidebar';
import { RUN_KINDS } from './vocabulary';
import type { ITask } from './wire';

/** A running training task's progress: the bar, then percent, epoch and remaining time. */
export function ProgressBar(props: { task: ITask; trans: TranslationBundle }): JSX.Element | null {
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

/** One task: its head line, progress, message and actions; a training task's child jobs under it. */
export function TaskRow(props: { task: ITask; opts: ISidebarOptions; child?: boolean }): JSX.Element {
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
        <span className="jp-trio-chip jp-trio-state">{statusLabel(t.status, trans)}</span>
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

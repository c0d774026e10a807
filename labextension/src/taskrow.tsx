/**
 * A task's row in the sidebar: a checkbox selecting it for "Compare (n)", its name, kind, state, progress and
 * its actions as icon buttons, with its child jobs under it.
 */

import { Dialog, InputDialog, Notification, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import {
  deleteIcon,
  fastForwardIcon,
  infoIcon,
  LabIcon,
  refreshIcon,
  runIcon,
  stopIcon,
  textEditorIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { metricsIcon, pinIcon } from './actionicons';
import { formatEta } from './format';
import { kindLabel, statusLabel } from './labels';
import { attempt } from './notify';
import type { ISidebarOptions } from './sidebar';
import { RUN_KINDS } from './vocabulary';
import type { ITask } from './wire';

/**
 * A running task's progress: the bar, then percent, the epoch (training) or the cell running (a notebook
 * job), and the remaining time.
 */
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
  if (t.cells) {
    parts.push(trans.__('cell %1/%2', t.cell ?? 0, t.cells));
  }
  if (t.eta_s !== undefined) {
    parts.push(trans.__('ETA %1', formatEta(t.eta_s, trans)));
  }
  return (
    <div className="jp-trio-progress" title={t.stage ?? ''} data-cell={t.cell} data-cells={t.cells}>
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
  const selection = opts.selection;
  const selected = !!selection?.has(t.name);
  // ctrl/cmd-click toggles the row, shift-click selects the range; a click on a control is the control's
  const onRowClick = (e: React.MouseEvent) => {
    if (!selection || (e.target as HTMLElement).closest('button, input, a, textarea')) {
      return;
    }
    if (e.shiftKey) {
      e.preventDefault();
      e.stopPropagation();
      selection.extend(t.name);
    } else if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      e.stopPropagation();
      selection.toggle(t.name);
    }
  };
  return (
    <li
      className={`jp-trio-task jp-trio-status-${t.status}${selected ? ' jp-mod-selected' : ''}`}
      data-task={t.name}
      data-status={t.status}
      data-selected={selected}
      onClick={onRowClick}
    >
      <div className="jp-trio-task-head">
        {selection ? (
          <input
            type="checkbox"
            className="jp-trio-select"
            checked={selected}
            aria-label={trans.__('Select %1 to compare', t.name)}
            title={trans.__('Select to compare (shift: a range)')}
            onChange={() => undefined}
            onClick={e => {
              e.stopPropagation();
              if (e.shiftKey) {
                selection.extend(t.name);
              } else {
                selection.toggle(t.name);
              }
            }}
          />
        ) : null}
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
      <div className="jp-trio-actions" role="toolbar" aria-label={trans.__('Actions of %1', t.name)}>
        <Action
          icon={textEditorIcon}
          label={trans.__('Log')}
          onClick={() => commands.execute('trio:open-log', { name: t.name })}
        />
        <Action
          icon={metricsIcon}
          label={trans.__('Metrics')}
          onClick={() => commands.execute('trio:open-metrics', { name: t.name })}
        />
        <Action
          icon={infoIcon}
          label={trans.__('Details')}
          onClick={() => commands.execute('trio:open-details', { name: t.name })}
        />
        {active ? (
          <Action icon={stopIcon} label={trans.__('Stop')} className="jp-trio-stop" onClick={stop} />
        ) : (
          <Action
            icon={t.run ? refreshIcon : runIcon}
            label={t.run ? trans.__('Rerun') : trans.__('Run')}
            className="jp-trio-run-button"
            onClick={() => attempt(trans, trans.__('Running %1', t.name), () => api.run(t.name))}
          />
        )}
        {training && !active && t.run ? (
          <Action
            icon={fastForwardIcon}
            label={trans.__('Resume')}
            className="jp-trio-resume"
            onClick={resume}
          />
        ) : null}
        <Action
          icon={pinIcon}
          label={t.pinned ? trans.__('Unpin') : trans.__('Pin')}
          className={t.pinned ? 'jp-trio-pinned' : ''}
          onClick={() =>
            attempt(trans, t.pinned ? trans.__('Unpinning %1', t.name) : trans.__('Pinning %1', t.name), () =>
              api.pin(t.name, !t.pinned)
            )
          }
        />
        {!active ? (
          <Action icon={deleteIcon} label={trans.__('Delete')} className="jp-trio-delete" onClick={remove} />
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

/**
 * A row action: an icon button whose label is its tooltip and its accessible name (the label is also in
 * the button, visually hidden, so a screen reader and a text search both find it).
 */
export function Action(props: {
  icon: LabIcon;
  label: string;
  onClick: () => unknown;
  className?: string;
}): JSX.Element {
  return (
    <button
      type="button"
      className={`jp-trio-action ${props.className ?? ''}`.trim()}
      title={props.label}
      onClick={() => void props.onClick()}
    >
      <props.icon.react tag="span" className="jp-trio-action-icon" elementSize="normal" />
      <span className="jp-trio-action-label">{props.label}</span>
    </button>
  );
}

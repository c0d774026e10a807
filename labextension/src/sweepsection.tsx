/**
 * The sweeps section: each sweep as a group (its state, trials done of its budget, best value, trials
 * pruned, pause/resume/stop, the sweep view); expanded, its trials, read from the server when it opens
 * and again on each of its ``sweep`` events.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { formatValue } from './format';
import { sweepStateLabel, trialStateLabel } from './labels';
import { attempt } from './notify';
import type { ISidebarOptions } from './sidebar';
import { ISweep, trialTaskName } from './wire';

/** The command that opens a sweep's view in the main area (commands.ts). */
const OPEN_SWEEP = 'trio:open-sweep';

/** A sweep's trials: number, state, value and task (a click opens its log). */
function TrialList(props: { sweep: ISweep; opts: ISidebarOptions }): JSX.Element {
  const { sweep, opts } = props;
  const { model, trans, commands } = opts;
  const trials = model.sweepTrials.get(sweep.id);
  if (!trials) {
    return <div className="jp-trio-empty">{trans.__('loading…')}</div>;
  }
  if (!trials.length) {
    return <div className="jp-trio-empty">{trans.__('no trial yet')}</div>;
  }
  return (
    <ul className="jp-trio-children jp-trio-trials">
      {trials.map(t => {
        const task = model.tasks.get(t.task)?.name ?? trialTaskName(sweep.name, t.number);
        return (
          <li
            key={t.number}
            className={`jp-trio-trial jp-trio-trial-${t.state}`}
            data-trial={t.number}
            data-state={t.state}
          >
            <span className="jp-trio-run">#{t.number}</span>
            <span className="jp-trio-chip jp-trio-state">{trialStateLabel(t.state, trans)}</span>
            <span className="jp-trio-trial-value" title={sweep.metric ?? ''}>
              {formatValue(t.value)}
            </span>
            <a
              className="jp-trio-trial-task"
              title={trans.__('Log of %1', task)}
              onClick={() => commands.execute('trio:open-log', { name: task })}
            >
              {task}
            </a>
          </li>
        );
      })}
    </ul>
  );
}

/** One sweep: its head line, progress, best, actions; its trials when expanded. */
export function SweepRow(props: { sweep: ISweep; opts: ISidebarOptions }): JSX.Element {
  const { sweep: w, opts } = props;
  const { api, model, trans, commands } = opts;
  const [open, setOpen] = React.useState(false);
  React.useEffect(() => {
    if (!open) {
      return;
    }
    let live = true;
    api.sweep(w.name).then(
      info => live && model.setSweepDetail(info),
      () => undefined
    );
    return () => {
      live = false;
    };
  }, [open, w.name, w.rev]);

  const stop = async () => {
    const result = await showDialog({
      title: trans.__('Stop sweep'),
      body: trans.__('Stop %1? No new trial starts and its running trials are cancelled.', w.name),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: trans.__('Stop') })]
    });
    if (result.button.accept) {
      await attempt(trans, trans.__('Stopping %1', w.name), () => api.stopSweep(w.name));
    }
  };
  const fraction = w.n_trials ? Math.min(1, w.trials_done / w.n_trials) : 0;
  const active = w.state === 'running' || w.state === 'paused';
  return (
    <li className={`jp-trio-sweep jp-trio-status-${w.state}`} data-sweep={w.name} data-state={w.state}>
      <div className="jp-trio-task-head">
        <button
          className="jp-trio-expand"
          aria-expanded={open}
          title={open ? trans.__('Hide the trials') : trans.__('Show the trials')}
          onClick={() => setOpen(!open)}
        >
          {open ? '▾' : '▸'}
        </button>
        <span className="jp-trio-task-name" title={w.message || w.name}>
          {w.name}
        </span>
        <span className="jp-trio-chip jp-trio-state">{sweepStateLabel(w.state, trans)}</span>
      </div>
      <div className="jp-trio-progress" title={trans.__('trials ended of the budget')}>
        <div className="jp-trio-progress-bar">
          <div
            className="jp-trio-progress-fill"
            style={{ width: `${fraction * 100}%` }}
            data-done={w.trials_done}
            data-total={w.n_trials}
          />
        </div>
        <span className="jp-trio-progress-text jp-trio-sweep-progress">
          {trans.__('%1/%2 trials', w.trials_done, w.n_trials)}
        </span>
      </div>
      <div className="jp-trio-sweep-stats">
        {w.best ? (
          <span className="jp-trio-sweep-best" data-value={w.best.value}>
            {trans.__('best %1 (#%2)', formatValue(w.best.value), w.best.number)}
          </span>
        ) : (
          <span className="jp-trio-sweep-best">{trans.__('no best yet')}</span>
        )}
        {w.pruned !== undefined ? (
          <span className="jp-trio-sweep-pruned" data-pruned={w.pruned}>
            {trans._n('%1 pruned', '%1 pruned', w.pruned)}
          </span>
        ) : null}
      </div>
      {w.message && w.state === 'failed' ? <div className="jp-trio-task-message">{w.message}</div> : null}
      <div className="jp-trio-actions">
        <Button minimal small onClick={() => commands.execute(OPEN_SWEEP, { name: w.name })}>
          {trans.__('Open')}
        </Button>
        {w.state === 'running' ? (
          <Button
            minimal
            small
            className="jp-trio-pause"
            onClick={() => attempt(trans, trans.__('Pausing %1', w.name), () => api.pauseSweep(w.name))}
          >
            {trans.__('Pause')}
          </Button>
        ) : null}
        {w.state === 'paused' || w.state === 'stopped' ? (
          <Button
            minimal
            small
            className="jp-trio-resume"
            onClick={() => attempt(trans, trans.__('Resuming %1', w.name), () => api.resumeSweep(w.name))}
          >
            {trans.__('Resume')}
          </Button>
        ) : null}
        {active ? (
          <Button minimal small className="jp-trio-stop" onClick={stop}>
            {trans.__('Stop')}
          </Button>
        ) : null}
      </div>
      {open ? <TrialList sweep={w} opts={opts} /> : null}
    </li>
  );
}

/** Every sweep the filter matches, or "none". */
export function SweepSection(props: { sweeps: ISweep[]; opts: ISidebarOptions }): JSX.Element {
  const { sweeps, opts } = props;
  const { trans } = opts;
  return (
    <section className="jp-trio-group" data-group="sweeps">
      <h3>
        {trans.__('Sweeps')} <span className="jp-trio-count">{sweeps.length}</span>
      </h3>
      {sweeps.length ? (
        <ul>
          {sweeps.map(w => (
            <SweepRow key={w.id} sweep={w} opts={opts} />
          ))}
        </ul>
      ) : (
        <div className="jp-trio-empty">{trans.__('none')}</div>
      )}
    </section>
  );
}

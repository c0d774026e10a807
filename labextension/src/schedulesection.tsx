/**
 * The schedules section: each schedule's task, cron line and timezone, its next fire (local time, and how
 * far off), paused or not, with pause/resume/delete. Live: the model follows the ``schedule`` events.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { deleteSchedule, ScheduleInfo, pauseSchedule, resumeSchedule } from './notebookjobs';
import { attempt } from './notify';
import { nextFireText } from './schedulefmt';
import type { ISidebarOptions } from './sidebar';

/** The command that shows a task in the sidebar with its details (commands.ts). */
const SHOW_TASK = 'trio:show-task';
/** How often the "in 3m 05s" of the next fires is written again. */
const TICK_MS = 15_000;

/** Now, in ms, renewed every ``TICK_MS`` while ``active``. */
function useNow(active: boolean): number {
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    if (!active) {
      return;
    }
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), TICK_MS);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

export function ScheduleRow(props: {
  schedule: ScheduleInfo;
  now: number;
  opts: ISidebarOptions;
}): JSX.Element {
  const { schedule: s, now, opts } = props;
  const { api, trans, commands } = opts;
  const next = nextFireText(s, now, trans);
  const remove = async () => {
    if (opts.confirmDelete()) {
      const result = await showDialog({
        title: trans.__('Delete schedule'),
        body: trans.__('Delete the schedule of %1 (%2)? The task stays.', s.task, s.cron),
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: trans.__('Delete') })]
      });
      if (!result.button.accept) {
        return;
      }
    }
    await attempt(trans, trans.__('Deleting the schedule of %1', s.task), () => deleteSchedule(api, s.id));
  };
  return (
    <li
      className={`jp-trio-schedule${s.paused ? ' jp-mod-paused' : ''}`}
      data-schedule={s.id}
      data-task={s.task}
      data-paused={s.paused}
    >
      <div className="jp-trio-task-head">
        <a
          className="jp-trio-task-name"
          title={trans.__('Show %1', s.task)}
          onClick={() => commands.execute(SHOW_TASK, { name: s.task })}
        >
          {s.task}
        </a>
        <span className="jp-trio-chip jp-trio-state">
          {s.paused ? trans._p('schedule state', 'paused') : trans._p('schedule state', 'active')}
        </span>
      </div>
      <div className="jp-trio-schedule-cron">
        <code>{s.cron}</code> <span className="jp-trio-schedule-tz">{s.timezone}</span>
      </div>
      <div className="jp-trio-schedule-next" data-next={s.next_fire ?? ''}>
        {next.relative ? trans.__('next: %1 (%2)', next.when, next.relative) : next.when}
      </div>
      {s.message ? <div className="jp-trio-schedule-message">{s.message}</div> : null}
      <div className="jp-trio-actions">
        {s.paused ? (
          <Button
            minimal
            small
            className="jp-trio-resume"
            onClick={() =>
              attempt(trans, trans.__('Resuming the schedule of %1', s.task), () => resumeSchedule(api, s.id))
            }
          >
            {trans._p('schedule', 'Resume')}
          </Button>
        ) : (
          <Button
            minimal
            small
            className="jp-trio-pause"
            onClick={() =>
              attempt(trans, trans.__('Pausing the schedule of %1', s.task), () => pauseSchedule(api, s.id))
            }
          >
            {trans._p('schedule', 'Pause')}
          </Button>
        )}
        <Button minimal small className="jp-trio-delete" onClick={remove}>
          {trans.__('Delete')}
        </Button>
      </div>
    </li>
  );
}

/** Every schedule the filter matches, or "none". */
export function ScheduleSection(props: { schedules: ScheduleInfo[]; opts: ISidebarOptions }): JSX.Element {
  const { schedules, opts } = props;
  const { trans } = opts;
  const now = useNow(schedules.some(s => !s.paused && s.next_fire !== null));
  return (
    <section className="jp-trio-group" data-group="schedules">
      <h3>
        {trans.__('Schedules')} <span className="jp-trio-count">{schedules.length}</span>
      </h3>
      {schedules.length ? (
        <ul>
          {schedules.map(s => (
            <ScheduleRow key={s.id} schedule={s} now={now} opts={opts} />
          ))}
        </ul>
      ) : (
        <div className="jp-trio-empty">{trans.__('none')}</div>
      )}
    </section>
  );
}

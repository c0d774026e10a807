/**
 * The "Run as job" dialog's form as React draws it: the parameter rows, GPUs, kernel and name, now or on a
 * schedule (with the next fire times the server previews for the cron line being typed), and the reason
 * of a refusal. The state and the submission are the dialog's (runasjob.tsx).
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { TrioAPI } from './api';
import type { IJobForm } from './jobform';
import { NotebookParameters, Overlap, previewSchedule } from './notebookjobs';
import { formatFireTime, looksLikeCron } from './schedulefmt';

/** A kernel the job may run on: its kernelspec name and display name. */
export interface IKernelChoice {
  name: string;
  display: string;
}

/** What the form shows and how it changes it. */
export interface IJobFormState {
  readonly opts: { api: TrioAPI; trans: TranslationBundle };
  readonly form: IJobForm;
  readonly info: NotebookParameters | null;
  readonly kernels: IKernelChoice[];
  readonly loading: boolean;
  readonly busy: boolean;
  readonly error: string;
  set(patch: Partial<IJobForm>): void;
  setParameter(name: string, value: string): void;
}

/** The next fire times of the cron line being typed (the server's preview), or why there are none. */
function useSchedulePreview(
  api: TrioAPI,
  enabled: boolean,
  cron: string,
  timezone: string
): { next: number[]; error: string } {
  const [state, setState] = React.useState({ next: [] as number[], error: '' });
  React.useEffect(() => {
    if (!enabled || !looksLikeCron(cron)) {
      setState({ next: [], error: '' });
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      previewSchedule(api, cron.trim(), timezone.trim() || 'UTC').then(
        next => live && setState({ next, error: '' }),
        err => live && setState({ next: [], error: err?.message ?? String(err) })
      );
    }, 400);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [enabled, cron, timezone]);
  return state;
}

function ParameterRows(props: { widget: IJobFormState }): JSX.Element {
  const { widget } = props;
  const { trans } = widget.opts;
  const rows = widget.form.rows;
  if (!rows.length) {
    return (
      <div className="jp-trio-empty">
        {widget.info
          ? trans.__('No parameters: tag a cell "parameters" to give the job some.')
          : trans.__('no parameters')}
      </div>
    );
  }
  const info = new Map((widget.info?.parameters ?? []).map(p => [p.name, p]));
  return (
    <table className="jp-trio-runjob-params">
      <tbody>
        {rows.map(r => {
          const p = info.get(r.name);
          const hint = [p?.type && p.type !== 'None' ? p.type : '', p?.help ?? '']
            .filter(Boolean)
            .join(' · ');
          return (
            <tr key={r.name} data-param={r.name}>
              <th title={hint}>
                <label htmlFor={`jp-trio-runjob-param-${r.name}`}>{r.name}</label>
              </th>
              <td>
                <input
                  id={`jp-trio-runjob-param-${r.name}`}
                  className="jp-mod-styled"
                  value={r.value}
                  title={trans.__('A Python or JSON literal; the notebook’s default: %1', r.default)}
                  onChange={e => widget.setParameter(r.name, e.target.value)}
                />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function ScheduleFields(props: { widget: IJobFormState }): JSX.Element {
  const { widget } = props;
  const { api, trans } = widget.opts;
  const f = widget.form;
  const preview = useSchedulePreview(api, f.when === 'schedule', f.cron, f.timezone);
  return (
    <fieldset className="jp-trio-runjob-schedule" disabled={f.when !== 'schedule'}>
      <label>
        {trans.__('Cron')}
        <input
          className="jp-mod-styled jp-trio-runjob-cron"
          value={f.cron}
          placeholder="0 * * * *"
          title={trans.__('minute hour day-of-month month day-of-week, e.g. "30 2 * * 1-5"')}
          onChange={e => widget.set({ cron: e.target.value })}
        />
      </label>
      <label>
        {trans.__('Timezone')}
        <input
          className="jp-mod-styled jp-trio-runjob-timezone"
          value={f.timezone}
          onChange={e => widget.set({ timezone: e.target.value })}
        />
      </label>
      <label>
        {trans.__('If still running')}
        <select
          className="jp-mod-styled jp-trio-runjob-overlap"
          value={f.overlap}
          onChange={e => widget.set({ overlap: e.target.value as Overlap })}
        >
          <option value="skip">{trans.__('skip that time')}</option>
          <option value="queue">{trans.__('queue another run')}</option>
        </select>
      </label>
      {f.when === 'schedule' ? (
        <div className="jp-trio-runjob-preview" data-count={preview.next.length}>
          {preview.error
            ? preview.error
            : preview.next.length
              ? trans.__(
                  'Next: %1',
                  preview.next
                    .slice(0, 3)
                    .map(t => formatFireTime(t))
                    .join(' · ')
                )
              : ''}
        </div>
      ) : null}
    </fieldset>
  );
}

export function JobFormView(props: { widget: IJobFormState }): JSX.Element {
  const { widget } = props;
  const { trans } = widget.opts;
  const f = widget.form;
  if (widget.loading) {
    return <div className="jp-trio-empty">{trans.__('loading…')}</div>;
  }
  const own = widget.info?.kernel ?? '';
  const kernels = [...widget.kernels];
  if (own && !kernels.some(k => k.name === own)) {
    kernels.unshift({ name: own, display: widget.info?.kernel_display_name || own });
  }
  return (
    <div className="jp-trio-runjob-body" data-notebook={f.notebook} data-busy={widget.busy}>
      <h3>{trans.__('Parameters')}</h3>
      <ParameterRows widget={widget} />
      <div className="jp-trio-runjob-row">
        <label>
          {trans.__('GPUs')}
          <input
            className="jp-mod-styled jp-trio-runjob-gpus"
            type="number"
            min={0}
            step={1}
            value={f.gpus}
            onChange={e => widget.set({ gpus: e.target.value })}
          />
        </label>
        {/* a .py runs in the server's Python: no kernel to choose */}
        {f.notebook.endsWith('.py') ? null : (
          <label>
            {trans.__('Kernel')}
            <select
              className="jp-mod-styled jp-trio-runjob-kernel"
              value={f.kernel}
              onChange={e => widget.set({ kernel: e.target.value })}
            >
              {kernels.map(k => (
                <option key={k.name} value={k.name}>
                  {k.name === own ? trans.__('%1 (the notebook’s)', k.display) : k.display}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <label className="jp-trio-runjob-row">
        {trans.__('Name')}
        <input
          className="jp-mod-styled jp-trio-runjob-name"
          value={f.name}
          placeholder={trans.__('optional: from the notebook’s name')}
          onChange={e => widget.set({ name: e.target.value })}
        />
      </label>
      <div className="jp-trio-runjob-when" role="radiogroup">
        <label>
          <input
            type="radio"
            name="jp-trio-runjob-when"
            value="now"
            checked={f.when === 'now'}
            onChange={() => widget.set({ when: 'now' })}
          />
          {trans.__('Run now')}
        </label>
        <label>
          <input
            type="radio"
            name="jp-trio-runjob-when"
            value="schedule"
            checked={f.when === 'schedule'}
            onChange={() => widget.set({ when: 'schedule' })}
          />
          {trans.__('On a schedule')}
        </label>
      </div>
      <ScheduleFields widget={widget} />
      {widget.error ? (
        <div className="jp-trio-runjob-error" role="alert">
          {widget.error}
        </div>
      ) : null}
    </div>
  );
}

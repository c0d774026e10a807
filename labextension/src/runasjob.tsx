/**
 * "Run as job…": a dialog that runs a notebook as a jupyter-trio job, now or on a schedule. Its parameters
 * come from the notebook's ``parameters`` cell (papermill's), one row each at its default; the user picks
 * the GPUs, the kernel and a name. A refusal of the server stays in the dialog, which stays open.
 */

import { Dialog, ReactWidget } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { TrioAPI } from './api';
import { IJobForm, jobRequests, newJobForm } from './jobform';
import { IJobFormState, IKernelChoice, JobFormView } from './jobformview';
import {
  createNotebookJob,
  createSchedule,
  NotebookJob,
  NotebookParameters,
  notebookParameters,
  ScheduleInfo
} from './notebookjobs';
import { browserTimezone } from './schedulefmt';

export type { IKernelChoice };

export interface IRunAsJobOptions {
  api: TrioAPI;
  trans: TranslationBundle;
  /** the notebook's path, relative to the server root */
  notebook: string;
  /** Jupyter's kernelspecs (``GET /api/kernelspecs``) */
  kernels: () => Promise<IKernelChoice[]>;
}

/** What the dialog created: the task, and its schedule when it runs by cron. */
export interface IRunAsJobResult {
  task: NotebookJob;
  schedule: ScheduleInfo | null;
}

/** The dialog's body: the form's state, loaded parts, and the submission. */
class JobFormWidget extends ReactWidget implements IJobFormState {
  readonly form: IJobForm;
  info: NotebookParameters | null = null;
  kernels: IKernelChoice[] = [];
  loading = true;
  error = '';
  busy = false;
  result: IRunAsJobResult | null = null;
  /** Called after each change of the form (the dialog relabels its button). */
  onChange: () => void = () => undefined;
  // a job created whose schedule was refused: the next try schedules it instead of creating another
  private _created: NotebookJob | null = null;

  constructor(readonly opts: IRunAsJobOptions) {
    super();
    this.addClass('jp-trio-runjob');
    this.form = newJobForm(opts.notebook, browserTimezone());
    void this._load();
  }

  private async _load(): Promise<void> {
    const { api, notebook, kernels, trans } = this.opts;
    const [info, specs] = await Promise.allSettled([notebookParameters(api, notebook), kernels()]);
    if (info.status === 'fulfilled') {
      this.info = info.value;
      this.form.kernel = info.value.kernel;
      this.form.rows = info.value.parameters.map(p => ({
        name: p.name,
        default: p.default,
        value: p.default
      }));
    } else {
      this.error = trans.__('Cannot read the notebook’s parameters: %1', info.reason?.message ?? info.reason);
    }
    this.kernels = specs.status === 'fulfilled' ? specs.value : [];
    this.loading = false;
    this.update();
  }

  set(patch: Partial<IJobForm>): void {
    Object.assign(this.form, patch);
    this.update();
    this.onChange();
  }

  setParameter(name: string, value: string): void {
    this.set({ rows: this.form.rows.map(r => (r.name === name ? { ...r, value } : r)) });
  }

  /** Create the job (and its schedule); false, with the reason shown, when that failed. */
  async submit(): Promise<boolean> {
    if (this.busy || this.loading) {
      return false;
    }
    const { api, trans } = this.opts;
    let requests;
    try {
      requests = jobRequests(this.form, this.info?.kernel ?? '', trans);
    } catch (err: any) {
      this.error = err.message;
      this.update();
      return false;
    }
    this.busy = true;
    this.error = '';
    this.update();
    try {
      const task = this._created ?? (await createNotebookJob(api, requests.job));
      let schedule: ScheduleInfo | null = null;
      if (requests.schedule) {
        this._created = task;
        schedule = await createSchedule(api, { task: task.name, ...requests.schedule });
      } else if (this._created) {
        await api.run(task.name);
      }
      this.result = { task, schedule };
      return true;
    } catch (err: any) {
      const why = err?.message ?? String(err);
      this.error = this._created
        ? trans.__('The job %1 was created but not its schedule: %2', this._created.name, why)
        : why;
      return false;
    } finally {
      this.busy = false;
      this.update();
    }
  }

  render(): JSX.Element {
    return <JobFormView widget={this} />;
  }
}

/** The dialog: its accept button submits, and only a success closes it. */
class RunAsJobDialog extends Dialog<void> {
  private static readonly ACCEPT = 1;

  constructor(
    private readonly body: JobFormWidget,
    trans: TranslationBundle
  ) {
    super({
      title: trans.__('Run %1 as a job', PathExt.basename(body.opts.notebook)),
      body,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: trans.__('Run') })],
      defaultButton: RunAsJobDialog.ACCEPT,
      focusNodeSelector: 'input'
    });
    this.addClass('jp-trio-runjob-dialog');
    body.onChange = () => {
      const label = this.node.querySelector('.jp-mod-accept .jp-Dialog-buttonLabel');
      if (label) {
        label.textContent = body.form.when === 'now' ? trans.__('Run') : trans.__('Schedule');
      }
    };
  }

  resolve(index?: number): void {
    if ((index ?? RunAsJobDialog.ACCEPT) !== RunAsJobDialog.ACCEPT) {
      super.resolve(index);
      return;
    }
    void this.body.submit().then(ok => {
      if (ok) {
        super.resolve(RunAsJobDialog.ACCEPT);
      }
    });
  }
}

/** Show the dialog for ``opts.notebook``; resolves with what it created, or null when cancelled. */
export async function runAsJob(opts: IRunAsJobOptions): Promise<IRunAsJobResult | null> {
  const body = new JobFormWidget(opts);
  const dialog = new RunAsJobDialog(body, opts.trans);
  const answer = await dialog.launch();
  return answer.button.accept ? body.result : null;
}

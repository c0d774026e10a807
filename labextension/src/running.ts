/** jupyter-trio's jobs in JupyterLab's Running panel. */

import type { IRunningSessions } from '@jupyterlab/running';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { LabIcon } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';

import type { TrioAPI } from './api';
import { trioIcon } from './icon';
import { kindLabel, statusLabel } from './labels';
import type { TrioModel } from './model';
import { attempt } from './notify';
import type { ITask } from './wire';

/** Jobs of this server in JupyterLab's Running panel; shutting one down cancels it. */
export class RunningJobs implements IRunningSessions.IManager {
  readonly name: string;
  readonly supportsMultipleViews = false;
  readonly runningChanged = new Signal<this, any>(this);
  readonly signaled = this.runningChanged;
  readonly shutdownLabel: string;
  readonly shutdownAllLabel: string;
  readonly shutdownAllConfirmationText: string;

  constructor(
    private readonly model: TrioModel,
    private readonly api: TrioAPI,
    private readonly open: (name: string) => void,
    private readonly trans: TranslationBundle
  ) {
    this.name = trans.__('jupyter-trio jobs');
    this.shutdownLabel = trans.__('Cancel');
    this.shutdownAllLabel = trans.__('Cancel all');
    this.shutdownAllConfirmationText = trans.__('Cancel every running and queued jupyter-trio job?');
    model.subscribe(() => this.runningChanged.emit(undefined));
  }

  running(): IRunningSessions.IRunningItem[] {
    const items: IRunningSessions.IRunningItem[] = [];
    for (const t of this.model.tasks.values()) {
      if (t.status !== 'running' && t.status !== 'queued') {
        continue;
      }
      items.push(this._item(t));
    }
    return items;
  }

  private _item(t: ITask): IRunningSessions.IRunningItem {
    const trans = this.trans;
    return {
      open: () => this.open(t.name),
      shutdown: () =>
        attempt(trans, trans.__('Cancelling %1', t.name), () => this.api.cancel(t.name)).then(
          () => undefined
        ),
      icon: () => trioIcon as LabIcon,
      // a notebook job says which cell runs: "job (running, cell 3/10)"
      label: () =>
        t.cells && t.status === 'running'
          ? trans.__('%1 (%2, cell %3/%4)', t.name, statusLabel(t.status, trans), t.cell ?? 0, t.cells)
          : trans.__('%1 (%2)', t.name, statusLabel(t.status, trans)),
      labelTitle: () =>
        t.cells && t.stage
          ? `${kindLabel(t.kind, trans)} · ${t.stage}`
          : trans.__('%1 · run %2', kindLabel(t.kind, trans), t.run),
      className: 'jp-trio-running-item'
    } as IRunningSessions.IRunningItem;
  }

  async shutdownAll(): Promise<void> {
    for (const t of this.model.tasks.values()) {
      if (t.status === 'running' || t.status === 'queued') {
        await attempt(this.trans, this.trans.__('Cancelling %1', t.name), () => this.api.cancel(t.name));
      }
    }
  }

  refreshRunning(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * jupyter-trio in JupyterLab: the plugin that puts the pieces together — the left sidebar fed by the
 * events channel, the commands (commands.ts) with their palette and launcher entries, jobs in JupyterLab's
 * Running panel (running.ts), notifications of the runs that end (runwatch.ts), the ``?trio-task=<name>``
 * link (tasklink.ts), the settings (settings.ts), and "Run as job…" on notebooks (runasjob.tsx; its context
 * menu entry and notebook toolbar button are declared in schema/plugin.json).
 */

import { ILabShell, ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IRunningSessionManagers } from '@jupyterlab/running';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { TrioAPI } from './api';
import { addCommandEntries, addCommands, CommandIDs } from './commands';
import { EventsClient } from './events';
import { kindLabel, statusLabel } from './labels';
import { TrioModel } from './model';
import { loadSchedules } from './notebookjobs';
import { RunningJobs } from './running';
import { watchRunEnds } from './runwatch';
import { DEFAULTS, followSettings, ISettings } from './settings';
import { TrioSidebar } from './sidebar';
import { taskFromQuery, withoutTaskParam } from './tasklink';
import type { IEvent } from './wire';

export { CommandIDs };

const PLUGIN_ID = 'jupyter-trio:plugin';
/** The gettext domain of our strings: jupyter_trio/locale/<lang>/LC_MESSAGES/jupyter_trio.json. */
const DOMAIN = 'jupyter_trio';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'jupyter-trio: live tasks, GPUs, logs and metrics in JupyterLab',
  autoStart: true,
  optional: [
    ILabShell,
    ILayoutRestorer,
    ICommandPalette,
    ILauncher,
    ISettingRegistry,
    IRunningSessionManagers,
    ITranslator,
    IDefaultFileBrowser
  ],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    settingRegistry: ISettingRegistry | null,
    running: IRunningSessionManagers | null,
    translator: ITranslator | null,
    fileBrowser: IDefaultFileBrowser | null
  ) => {
    const trans = (translator ?? nullTranslator).load(DOMAIN);
    const api = new TrioAPI(app.serviceManager.serverSettings);
    const model = new TrioModel();
    // the filter finds "运行中" as well as "running"
    model.labelsOf = t => `${statusLabel(t.status, trans)} ${kindLabel(t.kind, trans)}`;
    const settings: ISettings = { ...DEFAULTS };

    let firstLoad: () => void = () => undefined;
    const loaded = new Promise<void>(resolve => (firstLoad = resolve));
    const refetch = async () => {
      try {
        const [tasks, datasets, sweeps, schedules] = await Promise.all([
          api.loadTasks(),
          api.loadDatasets(),
          // a server without sweeps or schedules still shows its tasks
          api.loadSweeps().catch(() => undefined),
          loadSchedules(api).catch(() => undefined)
        ]);
        model.load(tasks, datasets, model.lastEventId, sweeps, schedules);
      } finally {
        firstLoad();
      }
    };
    const eventListeners = new Set<(event: IEvent) => void>();
    const onEvents = (fn: (event: IEvent) => void) => {
      eventListeners.add(fn);
      return () => void eventListeners.delete(fn);
    };
    const events = new EventsClient({
      model,
      onEvent: event => eventListeners.forEach(fn => fn(event)),
      connect: since => api.openSocket(['events'], since === null ? {} : { since }),
      refetch: () =>
        refetch().catch(err => {
          Notification.error(trans.__('jupyter-trio: cannot load tasks: %1', err?.message ?? err), {
            autoClose: 8000
          });
        })
    });
    events.start();

    const sidebar = new TrioSidebar({
      model,
      api,
      commands: app.commands,
      confirmDelete: () => settings.confirmBeforeDelete,
      trans
    });
    app.shell.add(sidebar, 'left', { rank: 650 });
    restorer?.add(sidebar, 'trio-sidebar');

    addCommands({ app, api, model, sidebar, settings, onEvents, trans, fileBrowser });
    addCommandEntries(palette, launcher, trans);
    const showTask = (name: string) => void app.commands.execute(CommandIDs.showTask, { name });
    watchRunEnds({ model, api, trans, enabled: () => settings.notifyRunEnds, open: showTask });
    // a run-end e-mail's link, <server>/lab?trio-task=<name>: the task, once the lists are in (or 10 s on)
    const linked = taskFromQuery(window.location.search);
    if (linked) {
      const later = new Promise(resolve => setTimeout(resolve, 10_000));
      void Promise.all([app.restored, Promise.race([loaded, later])]).then(() => {
        window.history.replaceState(window.history.state, '', withoutTaskParam(window.location.href));
        showTask(linked);
      });
    }
    if (running) {
      const open = (name: string) => void app.commands.execute(CommandIDs.openLog, { name });
      running.add(new RunningJobs(model, api, open, trans));
    }
    if (settingRegistry) {
      followSettings(settingRegistry, PLUGIN_ID, settings, current => {
        model.gpuMinIntervalMs = Math.max(0, current.gpuRefreshSeconds - 0.5) * 1000;
      });
    }
    void labShell;
  }
};

export default plugin;

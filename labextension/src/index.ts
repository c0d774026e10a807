/**
 * jupyter-trio in JupyterLab: the left sidebar, the main-area views (log, metrics, details), command
 * palette and launcher entries, settings, and jobs in JupyterLab's Running panel.
 */

import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, InputDialog, MainAreaWidget, Notification } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { IRunningSessionManagers, IRunningSessions } from '@jupyterlab/running';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { TrioAPI } from './api';
import { TaskDetails } from './details';
import { EventsClient } from './events';
import { trioIcon } from './icon';
import { LogViewer } from './logviewer';
import { MetricsView } from './metricsview';
import { IEvent, ITask, kindLabel, statusLabel, TrioModel } from './model';
import { attempt, TrioSidebar } from './sidebar';

const PLUGIN_ID = 'jupyter-trio:plugin';
/** The gettext domain of our strings: jupyter_trio/locale/<lang>/LC_MESSAGES/jupyter_trio.json. */
const DOMAIN = 'jupyter_trio';

export namespace CommandIDs {
  export const open = 'trio:open';
  export const openLog = 'trio:open-log';
  export const openMetrics = 'trio:open-metrics';
  export const openDetails = 'trio:open-details';
  export const newTraining = 'trio:new-training-task';
  export const newBatch = 'trio:new-batch';
}

interface ISettings {
  gpuRefreshSeconds: number;
  defaultLogStream: 'output' | 'stdout' | 'stderr';
  confirmBeforeDelete: boolean;
}

const DEFAULTS: ISettings = { gpuRefreshSeconds: 2, defaultLogStream: 'output', confirmBeforeDelete: true };

/** Jobs of this server in JupyterLab's Running panel; shutting one down cancels it. */
class RunningJobs implements IRunningSessions.IManager {
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
        attempt(trans, trans.__('Cancelling %1', t.name), () => this.api.cancel(t.name)).then(() => undefined),
      icon: () => trioIcon as LabIcon,
      label: () => trans.__('%1 (%2)', t.name, statusLabel(t.status, trans)),
      labelTitle: () => trans.__('%1 · run %2', kindLabel(t.kind, trans), t.run),
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
    ITranslator
  ],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    settingRegistry: ISettingRegistry | null,
    running: IRunningSessionManagers | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(DOMAIN);
    const api = new TrioAPI(app.serviceManager.serverSettings);
    const model = new TrioModel();
    // the filter finds "运行中" as well as "running"
    model.labelsOf = t => `${statusLabel(t.status, trans)} ${kindLabel(t.kind, trans)}`;
    const settings: ISettings = { ...DEFAULTS };
    const views = new Map<string, MainAreaWidget<Widget>>();

    const refetch = async () => {
      const [tasks, datasets] = await Promise.all([api.loadTasks(), api.loadDatasets()]);
      model.load(tasks, datasets, model.lastEventId);
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

    /** One view per task and kind: opening it again brings the existing one forward. */
    const openView = (id: string, make: () => Widget) => {
      const existing = views.get(id);
      if (existing && !existing.isDisposed) {
        app.shell.activateById(existing.id);
        return existing;
      }
      const content = make();
      const widget = new MainAreaWidget({ content });
      widget.id = id;
      widget.title.label = content.title.label;
      widget.title.icon = trioIcon;
      widget.title.closable = true;
      views.set(id, widget);
      widget.disposed.connect(() => views.delete(id));
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      return widget;
    };

    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Open jupyter-trio'),
      caption: trans.__('Show the jupyter-trio sidebar'),
      icon: trioIcon,
      execute: () => app.shell.activateById(sidebar.id)
    });
    app.commands.addCommand(CommandIDs.openLog, {
      label: args => (args.name ? trans.__('Log of %1', args.name) : trans.__('Open a task log')),
      execute: args =>
        openView(
          `trio-log-view-${args.name}`,
          () =>
            new LogViewer(api, String(args.name), trans, (args.stream as string) || settings.defaultLogStream)
        )
    });
    app.commands.addCommand(CommandIDs.openMetrics, {
      label: args => (args.name ? trans.__('Metrics of %1', args.name) : trans.__('Open task metrics')),
      execute: args =>
        openView(`trio-metrics-view-${args.name}`, () => new MetricsView(api, String(args.name), trans, onEvents))
    });
    app.commands.addCommand(CommandIDs.openDetails, {
      label: args => (args.name ? trans.__('Details of %1', args.name) : trans.__('Open task details')),
      execute: args =>
        openView(`trio-details-view-${args.name}`, () => new TaskDetails(api, model, String(args.name), trans))
    });
    app.commands.addCommand(CommandIDs.newTraining, {
      label: trans.__('New training task'),
      caption: trans.__('Create a PaddlePaddle training task in a jupyter-trio project'),
      icon: trioIcon,
      execute: async () => {
        const projects = await api.request('GET', ['projects']).catch(() => ({ items: [] }));
        const items: any[] = projects.items ?? [];
        if (!items.length) {
          Notification.warning(
            trans.__(
              'No jupyter-trio project yet: create one with a dataset first (POST /trio/api/projects, the datasets panel, or the PaddleX client).'
            ),
            { autoClose: 8000 }
          );
          return;
        }
        const labels = items.map(p => `${p.id} · ${p.name} (${p.project_type})`);
        const choice = await InputDialog.getItem({ title: trans.__('New training task in project'), items: labels });
        if (!choice.button.accept || !choice.value) {
          return;
        }
        const project = items[labels.indexOf(choice.value)];
        await attempt(trans, trans.__('Creating the training task'), async () => {
          const task = await api.request('POST', ['projects', project.id, 'tasks'], {});
          await app.commands.execute(CommandIDs.openDetails, { name: task.name });
        });
      }
    });
    app.commands.addCommand(CommandIDs.newBatch, {
      label: trans.__('New batch from script'),
      caption: trans.__('Run a Python script once per combination of a batch YAML config (a | b, 1:10:2)'),
      icon: trioIcon,
      execute: async () => {
        const script = await InputDialog.getText({
          title: trans.__('New batch: the script (relative to the server root)'),
          placeholder: 'train.py'
        });
        if (!script.button.accept || !script.value) {
          return;
        }
        const ok = await attempt(trans, trans.__('Opening the script'), () =>
          api.request('POST', ['workspace', 'run-root'], { script_path: script.value })
        );
        if (!ok) {
          return;
        }
        const yaml = await InputDialog.getText({
          title: trans.__('Batch config (YAML; empty: the script folder’s config)'),
          placeholder: 'lr: 0.1 | 0.01'
        });
        if (!yaml.button.accept) {
          return;
        }
        const text = (yaml.value ?? '').trim();
        await attempt(trans, trans.__('Creating the batch'), () =>
          api.request(
            'POST',
            ['generator', 'create'],
            text ? { mode: 'yaml', yaml_text: text, run: true } : { run: true }
          )
        );
        app.shell.activateById(sidebar.id);
      }
    });

    const category = trans.__('jupyter-trio');
    if (palette) {
      for (const command of [CommandIDs.open, CommandIDs.newTraining, CommandIDs.newBatch]) {
        palette.addItem({ command, category });
      }
    }
    if (launcher) {
      launcher.add({ command: CommandIDs.newTraining, category, rank: 1 });
      launcher.add({ command: CommandIDs.newBatch, category, rank: 2 });
      launcher.add({ command: CommandIDs.open, category, rank: 3 });
    }
    if (running) {
      const open = (name: string) => void app.commands.execute(CommandIDs.openLog, { name });
      running.add(new RunningJobs(model, api, open, trans));
    }
    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(
        loaded => {
          const update = () => {
            Object.assign(settings, DEFAULTS, loaded.composite as Partial<ISettings>);
            model.gpuMinIntervalMs = Math.max(0, settings.gpuRefreshSeconds - 0.5) * 1000;
          };
          update();
          loaded.changed.connect(update);
        },
        err => console.warn('jupyter-trio: settings not loaded', err)
      );
    }
    void labShell;
  }
};

export default plugin;

/**
 * jupyter-trio's commands (open the sidebar, a task's log, metrics or details, a task in the sidebar, a
 * sweep; compare runs; new training task; new batch; run a notebook as a job, open a job's executed
 * notebook) and where they show: the command palette and the launcher (the file browser's context menu and
 * the notebook toolbar are in schema/plugin.json).
 */

import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ICommandPalette, InputDialog, MainAreaWidget, Notification } from '@jupyterlab/apputils';
import type { ILauncher } from '@jupyterlab/launcher';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import type { Widget } from '@lumino/widgets';

import { compareIcon } from './actionicons';
import type { TrioAPI } from './api';
import { CompareView } from './compareview';
import { TaskDetails } from './details';
import { trioIcon } from './icon';
import { LogViewer } from './logviewer';
import { MetricsView } from './metricsview';
import type { TrioModel } from './model';
import { NOTEBOOK_JOB, openableNotebook } from './notebookjobs';
import { attempt } from './notify';
import { IKernelChoice, IRunAsJobResult, runAsJob } from './runasjob';
import { sweepWhere, tasksWhere } from './runsapi';
import type { ISettings } from './settings';
import { SweepView } from './sweepview';
import type { IEvent, ProjectInfo, Reply } from './wire';

export namespace CommandIDs {
  export const open = 'trio:open';
  export const openLog = 'trio:open-log';
  export const openMetrics = 'trio:open-metrics';
  export const openDetails = 'trio:open-details';
  export const showTask = 'trio:show-task';
  export const newTraining = 'trio:new-training-task';
  export const newBatch = 'trio:new-batch';
  export const openSweep = 'trio:open-sweep';
  export const compareRuns = 'trio:compare-runs';
  export const runAsJob = 'trio:run-as-job';
  export const openExecutedNotebook = 'trio:open-executed-notebook';
}

/** What the commands work with. */
export interface ICommandsContext {
  app: JupyterFrontEnd;
  api: TrioAPI;
  model: TrioModel;
  /** The sidebar, which ``trio:open`` shows. */
  sidebar: Widget;
  /** The current settings (the log view's default stream). */
  settings: ISettings;
  /** Listen to every event of the events channel; returns the way to stop. */
  onEvents: (fn: (event: IEvent) => void) => () => void;
  trans: TranslationBundle;
  /** The file browser, whose selected notebook "Run as job…" runs from its context menu. */
  fileBrowser?: IDefaultFileBrowser | null;
}

/** Add every command to ``ctx.app``'s registry. */
export function addCommands(ctx: ICommandsContext): void {
  const { app, api, model, sidebar, settings, onEvents, trans, fileBrowser } = ctx;
  const views = new Map<string, MainAreaWidget<Widget>>();

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
      openView(
        `trio-metrics-view-${args.name}`,
        () => new MetricsView(api, String(args.name), trans, onEvents)
      )
  });
  app.commands.addCommand(CommandIDs.openDetails, {
    label: args => (args.name ? trans.__('Details of %1', args.name) : trans.__('Open task details')),
    execute: args =>
      openView(
        `trio-details-view-${args.name}`,
        () => new TaskDetails(api, model, String(args.name), trans, app.commands)
      )
  });
  app.commands.addCommand(CommandIDs.showTask, {
    label: args => (args.name ? trans.__('Show %1', args.name) : trans.__('Show a task')),
    caption: trans.__('The sidebar on a task: its row in view, its details open'),
    execute: async args => {
      const name = String(args.name ?? '');
      app.shell.activateById(sidebar.id);
      const row = [...sidebar.node.querySelectorAll<HTMLElement>('.jp-trio-task')].find(
        el => el.dataset.task === name
      );
      row?.scrollIntoView({ block: 'nearest' });
      return app.commands.execute(CommandIDs.openDetails, { name });
    }
  });
  app.commands.addCommand(CommandIDs.openSweep, {
    label: args => (args.name ? trans.__('Sweep %1', args.name) : trans.__('Open sweep')),
    caption: trans.__('A sweep’s optimisation history, parameters and importances'),
    execute: async args => {
      let name = args.name ? String(args.name) : '';
      if (!name) {
        const names = [...model.sweeps.values()].map(w => w.name).sort();
        if (!names.length) {
          const text = trans.__('No sweep yet: start one through the REST API (POST /trio/api/sweeps).');
          Notification.info(text, { autoClose: 8000 });
          return;
        }
        const choice = await InputDialog.getItem({ title: trans.__('Open sweep'), items: names });
        if (!choice.button.accept || !choice.value) {
          return;
        }
        name = choice.value;
      }
      const compare = () => app.commands.execute(CommandIDs.compareRuns, { sweep: name });
      return openView(
        `trio-sweep-view-${name}`,
        () => new SweepView(api, model, name, trans, onEvents, compare)
      );
    }
  });
  app.commands.addCommand(CommandIDs.compareRuns, {
    label: trans.__('Compare runs'),
    caption: trans.__('Runs side by side: a table, parallel coordinates, a scatter and their metrics'),
    icon: compareIcon,
    execute: args => {
      // what to compare: named tasks' runs, a sweep's trials, a query, or every run
      const tasks = Array.isArray(args.tasks) ? (args.tasks as unknown[]).map(String) : [];
      const sweep = args.sweep ? String(args.sweep) : '';
      const where = tasks.length ? tasksWhere(tasks) : sweep ? sweepWhere(sweep) : String(args.where ?? '');
      let title = trans.__('Compare runs');
      if (sweep) {
        title = trans.__('Compare: %1', sweep);
      } else if (tasks.length) {
        title = trans._n('Compare: %1 task', 'Compare: %1 tasks', tasks.length);
      }
      return openView(
        `trio-compare-view-${hash(where)}`,
        () => new CompareView(api, where, trans, onEvents, title)
      );
    }
  });
  app.commands.addCommand(CommandIDs.newTraining, {
    label: trans.__('New training task'),
    caption: trans.__('Create a PaddlePaddle training task in a jupyter-trio project'),
    icon: trioIcon,
    execute: async () => {
      const projects = await api.projects().catch(() => ({ items: [] as ProjectInfo[] }));
      const items = projects.items ?? [];
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
      const choice = await InputDialog.getItem({
        title: trans.__('New training task in project'),
        items: labels
      });
      if (!choice.button.accept || !choice.value) {
        return;
      }
      const project = items[labels.indexOf(choice.value)];
      await attempt(trans, trans.__('Creating the training task'), async () => {
        const task = await api.request<Reply<'/trio/api/projects/{pid}/tasks', 'post'>>(
          'POST',
          ['projects', project.id, 'tasks'],
          {}
        );
        await app.commands.execute(CommandIDs.openDetails, { name: task.name });
      });
    }
  });
  app.commands.addCommand(CommandIDs.runAsJob, {
    // the notebook toolbar's button (args.toolbar) is the icon alone
    label: args => (args.toolbar ? '' : trans.__('Run as job…')),
    caption: trans.__('Run the notebook as a jupyter-trio job, now or on a schedule'),
    icon: trioIcon,
    execute: async args => {
      const path = notebookToRun(app, fileBrowser ?? null, args);
      if (!path) {
        Notification.warning(trans.__('Open or select a notebook (.ipynb) to run as a job.'), {
          autoClose: 8000
        });
        return;
      }
      const result = await runAsJob({ api, trans, notebook: path, kernels: () => kernelChoices(app) });
      if (result) {
        announce(result);
      }
    }
  });
  /** What the dialog created, as notifications (the server's warnings too). */
  const announce = ({ task, schedule }: IRunAsJobResult) => {
    const show = {
      label: trans.__('Show task'),
      callback: () => void app.commands.execute(CommandIDs.showTask, { name: task.name })
    };
    const text = schedule
      ? trans.__('%1 scheduled: %2 (%3)', task.name, schedule.cron, schedule.timezone)
      : trans.__('%1 started', task.name);
    Notification.success(text, { autoClose: 8000, actions: [show] });
    for (const warning of task.warnings ?? []) {
      Notification.warning(trans.__('%1: %2', task.name, warning), { autoClose: 12000 });
    }
  };
  app.commands.addCommand(CommandIDs.openExecutedNotebook, {
    label: args =>
      args.name ? trans.__('Open executed notebook of %1', args.name) : trans.__('Open executed notebook'),
    caption: trans.__('Open a copy of the notebook a job executed, with its outputs'),
    execute: async args => {
      let name = args.name ? String(args.name) : '';
      if (!name) {
        const names = [...model.tasks.values()]
          .filter(t => t.kind === NOTEBOOK_JOB && t.run)
          .map(t => t.name)
          .sort();
        if (!names.length) {
          Notification.info(trans.__('No notebook job has run yet.'), { autoClose: 8000 });
          return;
        }
        const choice = await InputDialog.getItem({ title: trans.__('Open executed notebook'), items: names });
        if (!choice.button.accept || !choice.value) {
          return;
        }
        name = choice.value;
      }
      const run = args.run === undefined || args.run === null ? undefined : Number(args.run);
      await attempt(trans, trans.__('Opening the executed notebook of %1', name), async () => {
        const path = await openableNotebook(api, name, run);
        await app.commands.execute('docmanager:open', { path });
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
}

/**
 * The notebook "Run as job…" runs: ``args.path``; from the file browser's context menu, its selected
 * notebook; else the notebook in the main area, else the one selected in the file browser.
 */
function notebookToRun(
  app: JupyterFrontEnd,
  browser: IDefaultFileBrowser | null,
  args: ReadonlyPartialJSONObject
): string {
  if (args.path) {
    return String(args.path);
  }
  const selected = () => {
    for (const item of browser?.selectedItems() ?? []) {
      if (item.type === 'notebook' || /\.(ipynb|py)$/.test(item.path)) {
        return item.path;
      }
    }
    return '';
  };
  if (args.from === 'filebrowser') {
    return selected();
  }
  const current: string = (app.shell.currentWidget as any)?.context?.path ?? '';
  return /\.(ipynb|py)$/.test(current) ? current : selected(); // a .py runs as a script task
}

/** Jupyter's kernelspecs (``GET /api/kernelspecs``) as the dialog's choices. */
async function kernelChoices(app: JupyterFrontEnd): Promise<IKernelChoice[]> {
  const manager = app.serviceManager.kernelspecs;
  await manager.ready;
  return Object.entries(manager.specs?.kernelspecs ?? {}).map(([name, spec]) => ({
    name,
    display: spec?.display_name || name
  }));
}

/** A short, DOM-safe id of a text (a query): one view per query. */
function hash(text: string): string {
  let h = 5381;
  for (let i = 0; i < text.length; i++) {
    h = ((h << 5) + h + text.charCodeAt(i)) | 0;
  }
  return (h >>> 0).toString(36);
}

/** The palette's and the launcher's entries, where JupyterLab has them. */
export function addCommandEntries(
  palette: ICommandPalette | null,
  launcher: ILauncher | null,
  trans: TranslationBundle
): void {
  const category = trans.__('jupyter-trio');
  if (palette) {
    const { open, openSweep, compareRuns, newTraining, newBatch, runAsJob, openExecutedNotebook } =
      CommandIDs;
    for (const command of [
      open,
      openSweep,
      compareRuns,
      newTraining,
      newBatch,
      runAsJob,
      openExecutedNotebook
    ]) {
      palette.addItem({ command, category });
    }
  }
  if (launcher) {
    launcher.add({ command: CommandIDs.newTraining, category, rank: 1 });
    launcher.add({ command: CommandIDs.newBatch, category, rank: 2 });
    launcher.add({ command: CommandIDs.open, category, rank: 3 });
  }
}

/**
 * A task's details in the main area: params (editable while a PaddleX-style training task has not run;
 * the server validates), notes, env, its runs with exit codes, the provenance of the run picked in that
 * table (the newest by default), a notebook job's outputs, and its child jobs.
 */

import { ReactWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { TrioAPI } from './api';
import { kindLabel, statusLabel } from './labels';
import { TrioModel } from './model';
import { NOTEBOOK_JOB } from './notebookjobs';
import { NotebookOutputs } from './notebookoutputs';
import { attempt } from './notify';
import { selectedRun } from './provenance';
import { ProvenanceView } from './provenanceview';
import { RUN_KINDS } from './vocabulary';
import type { TaskDetail } from './wire';

function when(t: number | null | undefined): string {
  return t ? new Date(t * 1000).toLocaleString() : '';
}

function DetailsView(props: {
  api: TrioAPI;
  model: TrioModel;
  name: string;
  trans: TranslationBundle;
  commands?: CommandRegistry;
}): JSX.Element {
  const { api, model, name, trans, commands } = props;
  const [task, setTask] = React.useState<TaskDetail | null>(null);
  const [params, setParams] = React.useState<string>('');
  const [notes, setNotes] = React.useState<string>('');
  const [error, setError] = React.useState<string>('');
  const [chosenRun, setChosenRun] = React.useState<number | null>(null);
  const version = React.useSyncExternalStore(
    fn => model.subscribe(fn),
    () => model.byName(name)?.status ?? ''
  );
  React.useEffect(() => {
    let live = true;
    api.task(name).then(
      t => {
        if (!live) {
          return;
        }
        setTask(t);
        setNotes(t.notes ?? '');
        if (RUN_KINDS.includes(t.kind)) {
          api.params(name).then(
            p => live && setParams(JSON.stringify(p.train ?? p, null, 2)),
            () => undefined
          );
        }
      },
      err => live && setError(String(err?.message ?? err))
    );
    return () => {
      live = false;
    };
  }, [name, version]);
  if (error) {
    return <div className="jp-trio-details">{error}</div>;
  }
  if (!task) {
    return <div className="jp-trio-details">{trans.__('loading…')}</div>;
  }
  const editable = RUN_KINDS.includes(task.kind) && task.run_index === 0;
  const children = model.childrenOf(task.id);
  const runs = task.runs ?? [];
  const shownRun = selectedRun(runs, chosenRun);
  const saveParams = () =>
    attempt(trans, trans.__('Saving params'), async () => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(params);
      } catch (e: any) {
        throw new Error(trans.__('params are not JSON: %1', e.message));
      }
      const reply = await api.setParams(name, parsed);
      setParams(JSON.stringify(reply.train ?? reply, null, 2));
    });
  return (
    <div className="jp-trio-details" data-task={name}>
      <h2>
        {task.name} <span className="jp-trio-chip">{kindLabel(task.kind, trans)}</span>{' '}
        <span className="jp-trio-chip jp-trio-state">{statusLabel(task.status, trans)}</span>
      </h2>
      {task.error ? <div className="jp-trio-task-message">{task.error}</div> : null}
      {params ? (
        <section>
          <h3>{editable ? trans.__('Params') : trans.__('Params (read-only: the task has run)')}</h3>
          <textarea
            className="jp-trio-params jp-mod-styled"
            rows={12}
            value={params}
            readOnly={!editable}
            onChange={e => setParams(e.target.value)}
          />
          {editable ? (
            <Button small onClick={saveParams}>
              {trans.__('Save params')}
            </Button>
          ) : null}
        </section>
      ) : task.config && Object.keys(task.config).length ? (
        <section>
          <h3>{trans.__('Config')}</h3>
          <pre>{JSON.stringify(task.config, null, 2)}</pre>
        </section>
      ) : null}
      <section>
        <h3>{trans.__('Notes')}</h3>
        <textarea
          className="jp-trio-notes jp-mod-styled"
          rows={3}
          value={notes}
          onChange={e => setNotes(e.target.value)}
        />
        <Button small onClick={() => attempt(trans, trans.__('Saving notes'), () => api.notes(name, notes))}>
          {trans.__('Save notes')}
        </Button>
      </section>
      <section>
        <h3>{trans.__('Env')}</h3>
        {Object.keys(task.env ?? {}).length ? (
          <pre>
            {Object.entries(task.env ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join('\n')}
          </pre>
        ) : (
          <div className="jp-trio-empty">{trans.__('none')}</div>
        )}
      </section>
      <section>
        <h3>{trans.__('Runs')}</h3>
        <table className="jp-trio-runs">
          <thead>
            <tr>
              <th>{trans._p('runs table', 'run')}</th>
              <th>{trans._p('runs table', 'status')}</th>
              <th>{trans._p('runs table', 'exit code')}</th>
              <th>{trans._p('runs table', 'GPUs')}</th>
              <th>{trans._p('runs table', 'started')}</th>
              <th>{trans._p('runs table', 'ended')}</th>
              <th>{trans._p('runs table', 'message')}</th>
            </tr>
          </thead>
          <tbody>
            {runs.map(r => (
              <tr
                key={r.run_index}
                data-run={r.run_index}
                className={r === shownRun ? 'jp-mod-selected' : ''}
                aria-selected={r === shownRun}
                title={trans.__('Show the provenance of run %1', r.run_index)}
                onClick={() => setChosenRun(r.run_index)}
              >
                <td>{r.run_index}</td>
                <td>{statusLabel(r.status, trans)}</td>
                <td>{r.exit_code ?? ''}</td>
                <td>{(r.gpus ?? []).join(',')}</td>
                <td>{when(r.started_at)}</td>
                <td>{when(r.ended_at)}</td>
                <td>{r.message ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {task.kind === NOTEBOOK_JOB && shownRun ? (
        <NotebookOutputs
          api={api}
          trans={trans}
          name={name}
          run={shownRun.run_index}
          version={version}
          execute={commands ? (id, args) => commands.execute(id, args as any) : undefined}
        />
      ) : null}
      {shownRun ? (
        <ProvenanceView run={shownRun.run_index} provenance={shownRun.provenance} trans={trans} />
      ) : null}
      {children.length ? (
        <section>
          <h3>{trans.__('Child jobs')}</h3>
          <ul>
            {children.map(c => (
              <li key={c.id}>
                {c.name} <span className="jp-trio-chip">{kindLabel(c.kind, trans)}</span>{' '}
                {statusLabel(c.status, trans)}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

export class TaskDetails extends ReactWidget {
  constructor(
    private readonly api: TrioAPI,
    private readonly model: TrioModel,
    readonly taskName: string,
    private readonly trans: TranslationBundle,
    private readonly commands?: CommandRegistry
  ) {
    super();
    this.id = `trio-details-${taskName}`;
    this.title.label = trans.__('Task: %1', taskName);
    this.title.closable = true;
    this.addClass('jp-trio-details-panel');
  }

  render(): JSX.Element {
    return (
      <DetailsView
        api={this.api}
        model={this.model}
        name={this.taskName}
        trans={this.trans}
        commands={this.commands}
      />
    );
  }
}

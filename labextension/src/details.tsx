/**
 * A task's details in the main area: params (editable while a PaddleX-style training task has not run;
 * the server validates), notes, env, its runs with exit codes, and its child jobs.
 */

import { ReactWidget } from '@jupyterlab/apputils';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { TrioAPI } from './api';
import { TrioModel } from './model';
import { attempt, RUN_KINDS } from './sidebar';

function when(t: number | null | undefined): string {
  return t ? new Date(t * 1000).toLocaleString() : '';
}

function DetailsView(props: { api: TrioAPI; model: TrioModel; name: string }): JSX.Element {
  const { api, model, name } = props;
  const [task, setTask] = React.useState<any>(null);
  const [params, setParams] = React.useState<string>('');
  const [notes, setNotes] = React.useState<string>('');
  const [error, setError] = React.useState<string>('');
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
    return <div className="jp-trio-details">loading…</div>;
  }
  const editable = RUN_KINDS.includes(task.kind) && task.run_index === 0;
  const children = model.childrenOf(task.id);
  const saveParams = () =>
    attempt('Saving params', async () => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(params);
      } catch (e: any) {
        throw new Error(`params are not JSON: ${e.message}`);
      }
      const reply = await api.setParams(name, parsed);
      setParams(JSON.stringify(reply.train ?? reply, null, 2));
    });
  return (
    <div className="jp-trio-details" data-task={name}>
      <h2>
        {task.name} <span className="jp-trio-chip">{task.kind}</span>{' '}
        <span className="jp-trio-chip jp-trio-state">{task.status}</span>
      </h2>
      {task.error ? <div className="jp-trio-task-message">{task.error}</div> : null}
      {params ? (
        <section>
          <h3>Params {editable ? '' : '(read-only: the task has run)'}</h3>
          <textarea
            className="jp-trio-params jp-mod-styled"
            rows={12}
            value={params}
            readOnly={!editable}
            onChange={e => setParams(e.target.value)}
          />
          {editable ? (
            <Button small onClick={saveParams}>
              Save params
            </Button>
          ) : null}
        </section>
      ) : task.config && Object.keys(task.config).length ? (
        <section>
          <h3>Config</h3>
          <pre>{JSON.stringify(task.config, null, 2)}</pre>
        </section>
      ) : null}
      <section>
        <h3>Notes</h3>
        <textarea
          className="jp-trio-notes jp-mod-styled"
          rows={3}
          value={notes}
          onChange={e => setNotes(e.target.value)}
        />
        <Button small onClick={() => attempt('Saving notes', () => api.notes(name, notes))}>
          Save notes
        </Button>
      </section>
      <section>
        <h3>Env</h3>
        {Object.keys(task.env ?? {}).length ? (
          <pre>
            {Object.entries(task.env)
              .map(([k, v]) => `${k}=${v}`)
              .join('\n')}
          </pre>
        ) : (
          <div className="jp-trio-empty">none</div>
        )}
      </section>
      <section>
        <h3>Runs</h3>
        <table className="jp-trio-runs">
          <thead>
            <tr>
              <th>run</th>
              <th>status</th>
              <th>exit code</th>
              <th>GPUs</th>
              <th>started</th>
              <th>ended</th>
              <th>message</th>
            </tr>
          </thead>
          <tbody>
            {(task.runs ?? []).map((r: any) => (
              <tr key={r.run_index} data-run={r.run_index}>
                <td>{r.run_index}</td>
                <td>{r.status}</td>
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
      {children.length ? (
        <section>
          <h3>Child jobs</h3>
          <ul>
            {children.map(c => (
              <li key={c.id}>
                {c.name} <span className="jp-trio-chip">{c.kind}</span> {c.status}
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
    readonly taskName: string
  ) {
    super();
    this.id = `trio-details-${taskName}`;
    this.title.label = `Task: ${taskName}`;
    this.title.closable = true;
    this.addClass('jp-trio-details-panel');
  }

  render(): JSX.Element {
    return <DetailsView api={this.api} model={this.model} name={this.taskName} />;
  }
}

/**
 * A notebook job's outputs in its details: "Open executed notebook" (a copy JupyterLab opens) and the files
 * the run left, each a download link.
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { TrioAPI } from './api';
import { formatBytes } from './format';
import { TaskOutput, taskOutputs } from './notebookjobs';

/** The command that opens a run's executed notebook (commands.ts). */
export const OPEN_EXECUTED = 'trio:open-executed-notebook';

export function NotebookOutputs(props: {
  api: TrioAPI;
  trans: TranslationBundle;
  /** the task's name */
  name: string;
  /** the run shown */
  run: number;
  /** changes when the task does (its state): the list is read again */
  version: string;
  /** run a command (``OPEN_EXECUTED``); undefined: no open button */
  execute?: (command: string, args: Record<string, unknown>) => Promise<unknown>;
}): JSX.Element {
  const { api, trans, name, run, version, execute } = props;
  const [outputs, setOutputs] = React.useState<TaskOutput[] | null>(null);
  const [error, setError] = React.useState('');
  React.useEffect(() => {
    let live = true;
    taskOutputs(api, name, run).then(
      reply => {
        if (live) {
          setOutputs(reply.outputs);
          setError('');
        }
      },
      err => live && setError(String(err?.message ?? err))
    );
    return () => {
      live = false;
    };
  }, [name, run, version]);
  const executed = outputs?.some(o => o.kind === 'notebook');
  return (
    <section className="jp-trio-outputs" data-run={run}>
      <h3>{trans.__('Outputs of run %1', run)}</h3>
      {execute ? (
        <Button
          small
          className="jp-trio-open-executed"
          disabled={!executed}
          title={
            executed ? trans.__('Open a copy of the executed notebook') : trans.__('No executed notebook yet')
          }
          onClick={() => void execute(OPEN_EXECUTED, { name, run })}
        >
          {trans.__('Open executed notebook')}
        </Button>
      ) : null}
      {error ? <div className="jp-trio-task-message">{error}</div> : null}
      {outputs === null && !error ? <div className="jp-trio-empty">{trans.__('loading…')}</div> : null}
      {outputs && !outputs.length ? <div className="jp-trio-empty">{trans.__('none')}</div> : null}
      {outputs && outputs.length ? (
        <ul className="jp-trio-output-list">
          {outputs.map(o => (
            <li key={o.path} data-kind={o.kind} data-path={o.path}>
              <a href={api.fileUrl(o.path)} download={o.name} title={trans.__('Download %1', o.path)}>
                {o.name}
              </a>{' '}
              <span className="jp-trio-output-size">{formatBytes(o.size)}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

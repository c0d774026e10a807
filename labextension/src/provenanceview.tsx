/**
 * A run's provenance in the task details: the code (commit, branch, dirty; the diff and untracked files
 * folded), Python, host, GPUs and driver, and the packages (folded, with a filter).
 */

import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { diffStat, filterPackages, gpuSummary, Provenance, shortCommit } from './provenance';

/** The code the run ran: ``abc1234 main dirty``, the diff and the untracked files folded under it. */
function GitFacts(props: { git: NonNullable<Provenance['git']>; trans: TranslationBundle }): JSX.Element {
  const { git, trans } = props;
  const stat = diffStat(git.diff);
  return (
    <>
      <dt>{trans.__('Code')}</dt>
      <dd data-field="git">
        <code title={git.commit}>{git.commit ? shortCommit(git.commit) : trans.__('no commit')}</code>{' '}
        {git.branch ? <span className="jp-trio-chip">{git.branch}</span> : null}{' '}
        {git.dirty ? (
          <span className="jp-trio-chip jp-trio-dirty" title={trans.__('uncommitted changes')}>
            {trans.__('dirty')}
          </span>
        ) : null}{' '}
        <span className="jp-trio-muted" title={trans.__('the repository')}>
          {git.root}
        </span>
      </dd>
      {git.diff ? (
        <dd>
          <details className="jp-trio-diff">
            <summary>
              {trans._n(
                'Diff: %1 file, +%2 −%3',
                'Diff: %1 files, +%2 −%3',
                stat.files,
                stat.added,
                stat.removed
              )}
              {git.diff_truncated ? ` (${trans.__('truncated')})` : ''}
            </summary>
            <pre>{git.diff}</pre>
            {git.diff_truncated ? (
              <div className="jp-trio-muted">
                {trans.__('Truncated: the changes were larger than the server keeps.')}
              </div>
            ) : null}
          </details>
        </dd>
      ) : null}
      {git.untracked.length ? (
        <dd>
          <details className="jp-trio-untracked">
            <summary>{trans._n('%1 untracked file', '%1 untracked files', git.untracked.length)}</summary>
            <pre>{git.untracked.join('\n')}</pre>
          </details>
        </dd>
      ) : null}
    </>
  );
}

/** The installed packages, folded, with a filter by name. */
function Packages(props: { packages: Record<string, string>; trans: TranslationBundle }): JSX.Element {
  const { packages, trans } = props;
  const [query, setQuery] = React.useState('');
  const shown = filterPackages(packages, query);
  return (
    <details className="jp-trio-packages">
      <summary>{trans._n('%1 package', '%1 packages', Object.keys(packages).length)}</summary>
      <input
        className="jp-trio-package-filter jp-mod-styled"
        placeholder={trans.__('Filter packages')}
        value={query}
        onChange={e => setQuery(e.target.value)}
      />
      <table className="jp-trio-package-list">
        <tbody>
          {shown.map(([name, version]) => (
            <tr key={name} data-package={name}>
              <td>{name}</td>
              <td>{version}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/** The provenance of run ``run`` (null: not captured). */
export function ProvenanceView(props: {
  run: number;
  provenance: Provenance | null | undefined;
  trans: TranslationBundle;
}): JSX.Element {
  const { run, provenance: p, trans } = props;
  return (
    <section className="jp-trio-provenance" data-run={run}>
      <h3>{trans.__('Provenance of run %1', run)}</h3>
      {p ? (
        <>
          <dl className="jp-trio-facts">
            {p.git ? (
              <GitFacts git={p.git} trans={trans} />
            ) : (
              <>
                <dt>{trans.__('Code')}</dt>
                <dd className="jp-trio-muted">{trans.__('not in a git repository')}</dd>
              </>
            )}
            <dt>{trans.__('Python')}</dt>
            <dd data-field="python">
              {p.python}{' '}
              <span className="jp-trio-muted" title={trans.__('the interpreter')}>
                {p.executable}
              </span>
            </dd>
            <dt>{trans.__('Host')}</dt>
            <dd data-field="host">
              {p.host}{' '}
              <span className="jp-trio-muted" title={trans.__('the platform')}>
                {p.platform}
              </span>
            </dd>
            {p.gpus.length || p.driver ? (
              <>
                <dt>{trans.__('GPUs')}</dt>
                <dd data-field="gpus">
                  {gpuSummary(p.gpus) || trans.__('none')}
                  {p.driver ? ` · ${trans.__('driver %1', p.driver)}` : ''}
                </dd>
              </>
            ) : null}
          </dl>
          <Packages packages={p.packages} trans={trans} />
        </>
      ) : (
        <div className="jp-trio-empty">{trans.__('not recorded for this run')}</div>
      )}
    </section>
  );
}

/** A run's provenance as the task details show it (issue 34). */

import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';

import { diffStat, filterPackages, gpuSummary, Provenance, selectedRun, shortCommit } from '../provenance';
import { ProvenanceView } from '../provenanceview';

// jest's CommonJS require (the test tsconfig types jest only, not node; react-dom comes untyped)
declare const require: (path: string) => any;
const { renderToStaticMarkup } = require('react-dom/server');

const trans = nullTranslator.load('jupyter_trio');

const DIFF = [
  'diff --git a/train.py b/train.py',
  '--- a/train.py',
  '+++ b/train.py',
  '@@ -1,2 +1,3 @@',
  '-lr = 0.1',
  '+lr = 0.01',
  '+epochs = 3',
  'diff --git a/cfg.yaml b/cfg.yaml',
  '--- a/cfg.yaml',
  '+++ b/cfg.yaml',
  '-a: 1',
  ''
].join('\n');

function provenance(extra: Partial<Provenance> = {}): Provenance {
  return {
    captured_at: 1700000000,
    python: '3.11.9',
    executable: '/venv/bin/python',
    packages: { numpy: '1.26.4', Jupyter_Trio: '0.1.0', torch: '2.3.0', 'jupyter-server': '2.14.0' },
    host: 'gpu-box-7',
    platform: 'Linux-6.1-x86_64',
    git: {
      root: '/home/alice/proj',
      commit: '0123456789abcdef0123456789abcdef01234567',
      branch: 'main',
      dirty: true,
      diff: DIFF,
      diff_truncated: true,
      untracked: ['notes.txt', 'data/new.csv']
    },
    gpus: ['NVIDIA H100', 'NVIDIA H100', 'NVIDIA A10'],
    driver: '550.54',
    ...extra
  };
}

describe('provenance pieces', () => {
  it('shortens a commit as git does', () => {
    expect(shortCommit('0123456789abcdef')).toBe('0123456');
  });

  it('counts a diff’s files and lines, not its headers', () => {
    expect(diffStat(DIFF)).toEqual({ files: 2, added: 2, removed: 2 });
    expect(diffStat('')).toEqual({ files: 0, added: 0, removed: 0 });
  });

  it('filters packages by name, any case and separator, sorted', () => {
    const packages = provenance().packages;
    expect(filterPackages(packages).map(([n]) => n)).toEqual([
      'jupyter-server',
      'Jupyter_Trio',
      'numpy',
      'torch'
    ]);
    expect(filterPackages(packages, 'jupyter_')).toEqual([
      ['jupyter-server', '2.14.0'],
      ['Jupyter_Trio', '0.1.0']
    ]);
    expect(filterPackages(packages, ' TORCH ')).toEqual([['torch', '2.3.0']]);
    expect(filterPackages(packages, 'nothing')).toEqual([]);
  });

  it('counts alike GPUs', () => {
    expect(gpuSummary(['NVIDIA H100', 'NVIDIA H100', 'NVIDIA A10'])).toBe('2 × NVIDIA H100, NVIDIA A10');
    expect(gpuSummary([])).toBe('');
  });

  it('shows the run picked while it exists, else the newest', () => {
    const runs = [{ run_index: 1 }, { run_index: 3 }, { run_index: 2 }];
    expect(selectedRun(runs, null)).toBe(runs[1]);
    expect(selectedRun(runs, 2)).toBe(runs[2]);
    expect(selectedRun(runs, 9)).toBe(runs[1]);
    expect(selectedRun([], null)).toBeNull();
  });
});

describe('ProvenanceView', () => {
  const render = (p: Provenance | null) =>
    renderToStaticMarkup(React.createElement(ProvenanceView, { run: 2, provenance: p, trans }));

  it('shows the commit, branch, dirty badge, diff, untracked files, Python, host, GPUs and packages', () => {
    const html = render(provenance());
    for (const text of [
      'Provenance of run 2',
      '>0123456<',
      '>main<',
      'jp-trio-dirty',
      'Diff: 2 files, +2 −2 (truncated)',
      '+epochs = 3',
      '2 untracked files',
      'notes.txt',
      '3.11.9',
      'gpu-box-7',
      '2 × NVIDIA H100, NVIDIA A10 · driver 550.54',
      '4 packages',
      'data-package="numpy"'
    ]) {
      expect(html).toContain(text);
    }
    expect(html).toContain('<details class="jp-trio-diff">'); // folded until opened
  });

  it('says when a run has no repository, no GPUs, or no provenance at all', () => {
    const html = render(provenance({ git: null, gpus: [], driver: '' }));
    expect(html).toContain('not in a git repository');
    expect(html).not.toContain('data-field="gpus"');
    expect(render(null)).toContain('not recorded for this run');
  });
});

/**
 * A run's provenance (``RunInfo.provenance``: git state, Python and packages, host, GPUs), put in the few
 * short pieces the task details show. Pure: the jest tests drive it; provenanceview.tsx draws it.
 */

import type { components } from './generated/api';

/** What a run ran: captured when it started; null when it was not (an older run, or not yet). */
export type Provenance = components['schemas']['ProvenanceInfo'];
export type GitState = components['schemas']['GitInfo'];

/** A commit as ``git log --oneline`` names it. */
export function shortCommit(commit: string): string {
  return commit.slice(0, 7);
}

/** How big a diff is: files, lines added and removed (a truncated diff: what was kept). */
export interface IDiffStat {
  files: number;
  added: number;
  removed: number;
}

export function diffStat(diff: string): IDiffStat {
  const stat = { files: 0, added: 0, removed: 0 };
  for (const line of diff.split('\n')) {
    if (line.startsWith('diff --git ')) {
      stat.files++;
    } else if (line.startsWith('+') && !line.startsWith('+++ ')) {
      stat.added++;
    } else if (line.startsWith('-') && !line.startsWith('--- ')) {
      stat.removed++;
    }
  }
  return stat;
}

/** A package name as pip compares them (PEP 503): ``Foo_Bar.baz`` is ``foo-bar-baz``. */
function normalized(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The packages whose name holds ``query`` (any case, ``-``/``_``/``.`` alike), by name. */
export function filterPackages(packages: Record<string, string>, query = ''): [string, string][] {
  const q = normalized(query.trim());
  return Object.entries(packages)
    .filter(([name]) => !q || normalized(name).includes(q))
    .sort(([a], [b]) => normalized(a).localeCompare(normalized(b)));
}

/** The GPUs a run held, alike ones counted: ``2 × NVIDIA H100, NVIDIA A10``. */
export function gpuSummary(gpus: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const gpu of gpus) {
    counts.set(gpu, (counts.get(gpu) ?? 0) + 1);
  }
  return [...counts].map(([gpu, n]) => (n > 1 ? `${n} × ${gpu}` : gpu)).join(', ');
}

/** The run a task's details show by default: the chosen one while it exists, else the newest. */
export function selectedRun<R extends { run_index: number }>(
  runs: readonly R[],
  chosen: number | null
): R | null {
  if (chosen !== null) {
    const run = runs.find(r => r.run_index === chosen);
    if (run) {
      return run;
    }
  }
  return runs.reduce<R | null>((best, r) => (!best || r.run_index > best.run_index ? r : best), null);
}

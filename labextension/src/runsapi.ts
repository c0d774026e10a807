/**
 * ``GET /trio/api/runs``: every run as one flat row (attributes, parameters by dotted name, metric
 * aggregates ``<series>.<agg>``), filtered by a ``where`` query, sorted and paged by the server. The types
 * are written here by hand: the OpenAPI document describes a row only as an open object. Also how the
 * compare view builds its queries (``task in (...)``, ``sweep = "..."``) and the CSV download.
 */

import { ServerConnection } from '@jupyterlab/services';

import type { TrioAPI } from './api';
import { errorMessage, TrioError } from './api';

/** A cell of a run row. */
export type RunValue = number | string | boolean | null;

/** One run: ``task``, ``task_id``, ``run``, ``status``... then ``lr``, ``optimizer.lr``, ``acc.max``... */
export type RunRow = Record<string, RunValue | undefined>;

export type ColumnKind = 'attribute' | 'param' | 'metric';
export type ColumnType = 'number' | 'string' | 'bool';

/** A column the reply describes. */
export interface IRunColumn {
  name: string;
  kind: ColumnKind;
  type: ColumnType;
}

/** The reply of ``GET /trio/api/runs``. */
export interface IRunsReply {
  runs: RunRow[];
  total: number;
  offset: number;
  limit: number;
  columns: IRunColumn[];
}

export type SortOrder = 'asc' | 'desc';

/** What the compare view asks for. */
export interface IRunsQuery {
  where?: string;
  columns?: string[];
  sort?: string;
  order?: SortOrder;
  limit?: number;
  offset?: number;
}

/** The server's largest page (``limit``). */
export const MAX_RUNS = 10000;

/**
 * A metric column: the series' name, then its aggregate: ``last``, ``min``, ``max``, ``best`` (those the
 * reply has), ``count``, ``last_step`` or ``at(k)`` (the value at the last step <= k).
 */
const METRIC = /^(.+)\.(last|min|max|best|count|last_step|at\(-?\d+\))$/;
/** A name part the query language reads as it is; another is written in backticks. */
const PLAIN_PART = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'true', 'false']);

/** ``s`` as a string literal of the query language: double quotes, ``\`` and ``"`` escaped. */
export function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The query selecting these tasks' runs: ``task in ("a", "b")`` ('' for none). */
export function tasksWhere(names: string[]): string {
  const unique = [...new Set(names)];
  return unique.length ? `task in (${unique.map(quote).join(', ')})` : '';
}

/** The query selecting a sweep's trials' runs. */
export function sweepWhere(name: string): string {
  return `sweep = ${quote(name)}`;
}

/**
 * A column's name as the query language writes it (``sort=``, ``columns=``): each dotted part as it is, or in
 * backticks when it has other characters or is a keyword (``layers.`0`.size``); ``.at(k)`` stays.
 */
export function columnRef(name: string): string {
  const at = /\.at\(-?\d+\)$/.exec(name);
  const base = at ? name.slice(0, at.index) : name;
  const parts = base
    .split('.')
    .map(p => (PLAIN_PART.test(p) && !KEYWORDS.has(p.toLowerCase()) ? p : `\`${p}\``));
  return parts.join('.') + (at ? at[0] : '');
}

/** The query string of a request: empty parts left out, ``limit`` within 1..MAX_RUNS. */
export function runsParams(q: IRunsQuery): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const where = (q.where ?? '').trim();
  if (where) {
    out.where = where;
  }
  if (q.columns && q.columns.length) {
    out.columns = q.columns.map(columnRef).join(',');
  }
  if (q.sort) {
    out.sort = columnRef(q.sort);
    out.order = q.order ?? 'asc';
  }
  if (q.limit !== undefined) {
    out.limit = Math.max(1, Math.min(MAX_RUNS, Math.floor(q.limit)));
  }
  if (q.offset) {
    out.offset = Math.max(0, Math.floor(q.offset));
  }
  return out;
}

/** One page of runs. A refused query throws a TrioError with status 422 and the server's message. */
export function fetchRuns(api: TrioAPI, q: IRunsQuery): Promise<IRunsReply> {
  return api.request<IRunsReply>('GET', ['runs'], undefined, runsParams(q));
}

/** The same runs as CSV (``format=csv``), as the server writes it. */
export async function fetchRunsCsv(api: TrioAPI, q: IRunsQuery): Promise<string> {
  const params = { ...runsParams(q), format: 'csv' };
  const url =
    api.url('runs') +
    '?' +
    Object.entries(params)
      .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
      .join('&');
  const resp = await ServerConnection.makeRequest(url, { method: 'GET', cache: 'no-cache' }, api.settings);
  const text = await resp.text();
  if (!resp.ok) {
    let data: unknown = text;
    try {
      data = JSON.parse(text);
    } catch {
      // the text as it is
    }
    throw new TrioError(errorMessage(data) || `GET ${url}: ${resp.status}`, resp.status);
  }
  return text;
}

/**
 * The character position a refusal names ("... at position 12", "column 12", "char 12"), 0-based as the
 * input's selection wants it; null when the message names none.
 */
export function errorPosition(message: string): number | null {
  const m = /(?:position|column|col|char(?:acter)?|offset)\s*:?\s*(\d+)/i.exec(message);
  return m ? Number(m[1]) : null;
}

/** A run's identity in the compare view: its task's id (or name) and run index. */
export function runKey(row: RunRow): string {
  return `${row.task_id ?? row.task}#${row.run}`;
}

/** A metric column's series and aggregate (``acc.max`` → ``['acc', 'max']``); null for another name. */
export function splitMetric(name: string): [string, string] | null {
  const m = METRIC.exec(name);
  return m ? [m[1], m[2]] : null;
}

/** The metric series the columns name (``acc.max``, ``acc.last`` → ``acc``), sorted. */
export function metricSeries(columns: IRunColumn[]): string[] {
  const names = new Set<string>();
  for (const c of columns) {
    const parts = c.kind === 'metric' ? splitMetric(c.name) : null;
    if (parts) {
      names.add(parts[0]);
    } else if (c.kind === 'metric') {
      names.add(c.name);
    }
  }
  return [...names].sort();
}

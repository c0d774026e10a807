/**
 * The server's REST routes and websockets, through JupyterLab's ServerConnection: base_url, the token
 * or login cookie, XSRF and a JupyterHub user prefix are all handled the way JupyterLab handles them.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  Body,
  datasetFromRest,
  IDataset,
  ImportancesReply,
  ISweep,
  ITask,
  Reply,
  SweepInfo,
  sweepFromRest,
  TaskDetail,
  taskFromRest
} from './wire';

export class TrioError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

/** The reason in an error reply: native ``{"error": {"message"}}``, or a plain ``message``. */
export function errorMessage(data: any): string {
  if (!data) {
    return '';
  }
  if (typeof data === 'string') {
    return data;
  }
  if (data.error && typeof data.error === 'object') {
    return String(data.error.message ?? data.error.code ?? '');
  }
  return String(data.message ?? data.error ?? '');
}

export class TrioAPI {
  readonly settings: ServerConnection.ISettings;

  constructor(settings?: ServerConnection.ISettings) {
    this.settings = settings ?? ServerConnection.makeSettings();
  }

  url(...parts: string[]): string {
    return URLExt.join(this.settings.baseUrl, 'trio', 'api', ...parts);
  }

  async request<T = any>(
    method: string,
    path: string[],
    body?: unknown,
    query?: Record<string, string | number | boolean | undefined>
  ): Promise<T> {
    let url = this.url(...path.map(encodeURIComponent));
    const params = Object.entries(query ?? {}).filter(([, v]) => v !== undefined);
    if (params.length) {
      url += '?' + params.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
    }
    // no-cache (revalidate every time) instead of JupyterLab's default no-store, which appends a
    // timestamp to the URL as a cache buster
    const init: RequestInit = { method, cache: 'no-cache' };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
    }
    const resp = await ServerConnection.makeRequest(url, init, this.settings);
    if (resp.status === 204) {
      return undefined as T;
    }
    const text = await resp.text();
    let data: any = undefined;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = text;
    }
    if (!resp.ok) {
      throw new TrioError(errorMessage(data) || `${method} ${url}: ${resp.status}`, resp.status);
    }
    return data as T;
  }

  /** Running and queued tasks (all of them, up to 1000 each), the newest not started and finished ones. */
  async loadTasks(recent = 100): Promise<ITask[]> {
    const list = (query: Record<string, string | number>) =>
      this.request<Reply<'/trio/api/tasks', 'get'>>('GET', ['tasks'], undefined, query);
    const lists = await Promise.all([
      list({ status: 'running', limit: 1000 }),
      list({ status: 'queued', limit: 1000, order: 'asc' }),
      list({ status: 'pending', limit: recent }),
      list({ sort: 'updated_at', limit: recent })
    ]);
    const seen = new Map<string, ITask>();
    for (const { items } of lists) {
      for (const row of items) {
        seen.set(row.id, taskFromRest(row));
      }
    }
    return [...seen.values()];
  }

  async loadDatasets(): Promise<IDataset[]> {
    const reply = await this.request<Reply<'/trio/api/datasets', 'get'>>('GET', ['datasets']);
    return reply.items.map(datasetFromRest);
  }

  async loadSweeps(): Promise<ISweep[]> {
    const reply = await this.request<Reply<'/trio/api/sweeps', 'get'>>('GET', ['sweeps']);
    return reply.items.map(row => sweepFromRest(row));
  }

  /** A sweep with its trials. */
  sweep(name: string): Promise<SweepInfo> {
    return this.request('GET', ['sweeps', name]);
  }

  importances(name: string): Promise<ImportancesReply> {
    return this.request('GET', ['sweeps', name, 'importances']);
  }

  pauseSweep(name: string): Promise<Reply<'/trio/api/sweeps/{name}/pause', 'post'>> {
    return this.request('POST', ['sweeps', name, 'pause'], {});
  }

  resumeSweep(name: string): Promise<Reply<'/trio/api/sweeps/{name}/resume', 'post'>> {
    return this.request('POST', ['sweeps', name, 'resume'], {}); // add_trials: 0, the budget as it is
  }

  stopSweep(name: string): Promise<Reply<'/trio/api/sweeps/{name}/stop', 'post'>> {
    return this.request('POST', ['sweeps', name, 'stop'], {});
  }

  projects(): Promise<Reply<'/trio/api/projects', 'get'>> {
    return this.request('GET', ['projects']);
  }

  task(name: string): Promise<TaskDetail> {
    return this.request('GET', ['tasks', name]);
  }

  run(name: string): Promise<Reply<'/trio/api/tasks/{name}/run', 'post'>> {
    return this.request('POST', ['tasks', name, 'run'], {});
  }

  cancel(name: string): Promise<Reply<'/trio/api/tasks/{name}/cancel', 'post'>> {
    return this.request('POST', ['tasks', name, 'cancel'], {});
  }

  resume(name: string, epoch: number | null): Promise<Reply<'/trio/api/tasks/{name}/resume', 'post'>> {
    return this.request('POST', ['tasks', name, 'resume'], epoch === null ? {} : { epoch });
  }

  pin(name: string, pinned: boolean): Promise<Reply<'/trio/api/tasks/{name}/pin', 'post'>> {
    const body: Body<'/trio/api/tasks/{name}/pin', 'post'> = { pinned };
    return this.request('POST', ['tasks', name, 'pin'], body);
  }

  remove(name: string): Promise<void> {
    return this.request('DELETE', ['tasks', name], undefined, { force: true });
  }

  notes(name: string, notes: string): Promise<Reply<'/trio/api/tasks/{name}/notes', 'patch'>> {
    const body: Body<'/trio/api/tasks/{name}/notes', 'patch'> = { notes };
    return this.request('PATCH', ['tasks', name, 'notes'], body);
  }

  params(name: string): Promise<Reply<'/trio/api/tasks/{name}/params', 'get'>> {
    return this.request('GET', ['tasks', name, 'params']);
  }

  setParams(
    name: string,
    train: Body<'/trio/api/tasks/{name}/params', 'put'>['train']
  ): Promise<Reply<'/trio/api/tasks/{name}/params', 'put'>> {
    return this.request('PUT', ['tasks', name, 'params'], { train });
  }

  metricsIndex(name: string, run?: number): Promise<Reply<'/trio/api/tasks/{name}/metrics', 'get'>> {
    return this.request('GET', ['tasks', name, 'metrics'], undefined, { run });
  }

  series(
    name: string,
    key: string,
    opts: { run?: number; max_points?: number; from_step?: number; to_step?: number }
  ): Promise<Reply<'/trio/api/tasks/{name}/metrics/{key}', 'get'>> {
    return this.request('GET', ['tasks', name, 'metrics', key], undefined, opts);
  }

  /**
   * The download URL of a workspace file (``GET /trio/api/files/<path>``), with the token where JupyterLab
   * uses one: a plain link's request carries no Authorization header.
   */
  fileUrl(path: string): string {
    const url = this.url('files', ...path.split('/').filter(Boolean).map(encodeURIComponent));
    return this.settings.token ? `${url}?token=${encodeURIComponent(this.settings.token)}` : url;
  }

  /** A websocket URL under /trio/api, with the token where JupyterLab uses one. */
  wsUrl(path: string[], query: Record<string, string | number | undefined> = {}): string {
    const base = URLExt.join(this.settings.wsUrl, 'trio', 'api', ...path.map(encodeURIComponent));
    const params = Object.entries(query).filter(([, v]) => v !== undefined) as [string, any][];
    if (this.settings.token) {
      params.push(['token', this.settings.token]);
    }
    return params.length
      ? base + '?' + params.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&')
      : base;
  }

  openSocket(path: string[], query: Record<string, string | number | undefined> = {}): WebSocket {
    const Ws = this.settings.WebSocket;
    return new Ws(this.wsUrl(path, query));
  }
}
